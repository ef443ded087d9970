import type { Access, Tool } from '../snippets/types';

export interface ToolActions {
  /** on arn:aws:s3:::BUCKET */
  bucket: string[];
  /** on arn:aws:s3:::BUCKET/PREFIX* */
  object: string[];
}

interface ActionTable {
  bucketRead: string[];
  objectRead: string[];
  objectWrite: string[];
}

const BACKUP_TOOL: ActionTable = {
  bucketRead: ['s3:GetBucketLocation', 's3:ListBucket'],
  objectRead: ['s3:GetObject'],
  objectWrite: ['s3:PutObject', 's3:DeleteObject'],
};

/** Exactly what each tool needs (../shared/design/aws-facts.md, "What each tool needs"). */
const TABLE: Record<Tool, ActionTable> = {
  pbm: BACKUP_TOOL,
  'psmdb-operator': BACKUP_TOOL,
  stackgres: BACKUP_TOOL,
  velero: {
    bucketRead: ['s3:ListBucket'],
    objectRead: ['s3:GetObject'],
    objectWrite: ['s3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
  },
  // write: PutObject + AbortMultipartUpload; DeleteObject because the rendered PV mounts with allow-delete
  'mountpoint-s3-csi': {
    bucketRead: ['s3:ListBucket'],
    objectRead: ['s3:GetObject'],
    objectWrite: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject'],
  },
  generic: {
    bucketRead: ['s3:GetBucketLocation', 's3:ListBucket'],
    objectRead: ['s3:GetObject'],
    objectWrite: ['s3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload'],
  },
};

/** The S3 actions a tool needs; read-only drops writes and deletes. Sorted, so policies are stable. */
export function toolActions(tool: Tool, access: Access): ToolActions {
  const t = TABLE[tool];
  return {
    bucket: [...t.bucketRead].sort(),
    object: [...t.objectRead, ...(access === 'read-write' ? t.objectWrite : [])].sort(),
  };
}

export function kmsActions(access: Access): string[] {
  return access === 'read-write' ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'];
}

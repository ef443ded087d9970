import { addressedBucket, toYaml, trimPrefix, withComments } from './format';
import type { Access, BucketRef } from './types';

/** The subset of the PBM config file (pbm/config/config.go, pbm/storage/s3/s3.go yaml tags) this service writes. */
interface PbmConfig {
  storage: {
    type: 's3';
    s3: {
      region: string;
      bucket: string;
      prefix?: string;
      forcePathStyle?: false;
      serverSideEncryption?: { sseAlgorithm: 'aws:kms'; kmsKeyID: string };
    };
  };
}

/**
 * PBM storage config without `credentials`: with empty credentials pbm-agent uses the SDK default chain
 * (IRSA web identity, or on EC2 the aws-config profile that pbm-agent.env selects). PBM trims leading/trailing '/' from the prefix itself; we
 * emit it already trimmed. SSE-KMS is requested explicitly when the bucket has a key.
 */
function buildPbmConfig(bucket: BucketRef): PbmConfig {
  const prefix = trimPrefix(bucket.prefix);
  return {
    storage: {
      type: 's3',
      s3: {
        region: bucket.region,
        bucket: addressedBucket('pbm', bucket),
        ...(prefix !== undefined && { prefix }),
        // an access point answers virtual-hosted requests only, and PBM defaults to path style (docs/access-points.md §2.1)
        ...(bucket.accessPoint && { forcePathStyle: false as const }),
        ...(bucket.kmsKeyArn !== undefined && {
          serverSideEncryption: { sseAlgorithm: 'aws:kms', kmsKeyID: bucket.kmsKeyArn },
        }),
      },
    },
  };
}

/** What a restore-level role lets a DR cluster's pbm-agents do, and what it refuses. */
const PBM_RESTORE_COMMENTS = [
  'Access restore: resync (pbm config --file, pbm config --force-resync) and logical and physical restores work;',
  'backups, PITR and deleting backups are denied (the role may write only .pbm.init and .pbm.restore/).',
] as const;

export function renderPbmConfig(bucket: BucketRef, access: Access): string {
  return withComments(
    [
      'Percona Backup for MongoDB storage: pbm config --file pbm-config.yaml',
      'No credentials on purpose: pbm-agent gets them from its IAM role.',
      ...(bucket.accessPoint
        ? [`bucket is the alias of S3 access point ${bucket.accessPoint.arn}; forcePathStyle false is required.`]
        : []),
      ...(access === 'restore' ? PBM_RESTORE_COMMENTS : []),
    ],
    toYaml(buildPbmConfig(bucket)),
  );
}

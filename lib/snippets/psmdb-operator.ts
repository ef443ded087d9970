import { defaultStorageName } from './defaults';
import { addressedBucket, toYaml, trimPrefix, withComments } from './format';
import type { Access, BucketRef } from './types';

interface PsmdbS3Storage {
  type: 's3';
  main: true;
  s3: { bucket: string; region: string; prefix?: string; forcePathStyle?: false };
}

interface PsmdbBackupStoragesPatch {
  spec: { backup: { storages: Record<string, PsmdbS3Storage> } };
}

/**
 * A `spec.backup.storages` entry to merge into the PerconaServerMongoDB CR. No `credentialsSecret` (IRSA),
 * and no `serverSideEncryption`: with IRSA the operator drops it, so S3 bucket default encryption must do.
 * `main: true`: from crVersion 1.20 a CR with more than one storage needs exactly one main storage
 * (percona/percona-server-mongodb-operator@b15af50030bfc5558813b86b160e87fd304a409c
 * pkg/apis/psmdb/v1/psmdb_defaults.go:623-638); with a single storage it is the main one anyway.
 */
function buildPsmdbBackupStorages(bucket: BucketRef, access: Access): PsmdbBackupStoragesPatch {
  const prefix = trimPrefix(bucket.prefix);
  const storage: PsmdbS3Storage = {
    type: 's3',
    main: true,
    s3: {
      bucket: addressedBucket('psmdb-operator', bucket),
      region: bucket.region,
      ...(prefix !== undefined && { prefix }),
      // access points answer virtual-hosted requests only; the operator passes this to PBM from 1.22.0
      ...(bucket.accessPoint && { forcePathStyle: false as const }),
    },
  };
  return { spec: { backup: { storages: { [defaultStorageName(bucket, access)]: storage } } } };
}

export function renderPsmdbBackupStorages(bucket: BucketRef, access: Access): string {
  return withComments(
    [
      'Merge into your PerconaServerMongoDB custom resource (spec.backup.storages).',
      'No credentialsSecret on purpose: the operator and pbm-agent use the IAM role of their service accounts.',
      ...(bucket.accessPoint
        ? [
            `bucket is the alias of S3 access point ${bucket.accessPoint.arn}; forcePathStyle false is required`,
            '(operator 1.22.0 or later passes it to PBM).',
          ]
        : []),
      'main: true makes this the main PBM storage (resync, PITR); crVersion 1.20 or later reads it. If the CR',
      'already has another storage with main: true, keep main on only one of them: the operator rejects two',
      'main storages and, when there is more than one storage, also none.',
      ...(access === 'restore'
        ? [
            'Access restore: the operator and pbm-agents can resync and restore from this storage; backups,',
            'PITR and deleting backups are denied (the role may write only .pbm.init and .pbm.restore/).',
          ]
        : []),
    ],
    toYaml(buildPsmdbBackupStorages(bucket, access)),
  );
}

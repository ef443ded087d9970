import type { ProvisionerSessions } from '../../aws/session';
import * as iamApi from '../../aws/iam';
import * as s3Api from '../../aws/s3';
import * as kmsApi from '../../aws/kms';
import * as s3cApi from '../../aws/s3control';
import { ACCESS_POINT_PREFIX, ownsAccessPoint } from '../../policy/access-points';
import { ConflictError, InternalError } from '../../errors';
import { parseRawPolicy, renderRawPolicy } from '../../policy/resource-policy';
import { BUCKET_POLICY_MAX_BYTES, KEY_POLICY_MAX_BYTES } from '../plan/statements';
import { bucketTargetKey, keyTargetKey } from '../gather/observe';
import { runPodIdentityStep } from './pod-identity';
import type { PolicyTarget, PolicyWriter } from './policy-writer';
import type { ResourceStatementParams, Step } from '../model/steps';
import type { StepRunner } from './execute';
import type { ProviderDeletion } from './record-keeping';

/** What each step does in AWS: the executor's only link to the adapters. */

const tagOf = (tags: readonly [string, string][], key: string): string => tags.find(([k]) => k === key)?.[1] ?? '';

/** The name of a resource policy: its lease, its queue, its entry in what was observed. */
export const targetKey = (t: ResourceStatementParams['target']): string =>
  t.kind === 'bucket' ? bucketTargetKey(t.accountId, t.bucket) : keyTargetKey(t.keyArn);

export function policyTarget(sessions: ProvisionerSessions, t: ResourceStatementParams['target']): PolicyTarget {
  if (t.kind === 'bucket') {
    const s3 = sessions.s3(t.accountId, t.region);
    return {
      key: targetKey(t),
      describe: `bucket ${t.bucket}`,
      maxBytes: BUCKET_POLICY_MAX_BYTES,
      read: async () => {
        const text = await s3Api.getBucketPolicyText(s3, t.bucket, t.accountId);
        return text === undefined ? undefined : parseRawPolicy(text);
      },
      write: async (p) => {
        if (p.statements.length) await s3Api.putBucketPolicy(s3, t.bucket, t.accountId, renderRawPolicy(p));
        else await s3Api.deleteBucketPolicy(s3, t.bucket, t.accountId);
      },
      accessPointsInUse: async ({ except, managedBy }) => {
        const s3c = sessions.s3control(t.accountId, t.region);
        const named = (await s3cApi.listAccessPoints(s3c, t.accountId, t.bucket)).filter(
          (a) => a.name.startsWith(ACCESS_POINT_PREFIX) && !except.includes(a.name),
        );
        // the first that is the service's answers (usually the first read); someone else's of such a name does not
        for (const a of named) {
          const tags = await s3cApi.accessPointTags(s3c, t.accountId, a.arn);
          if (tags?.some(([k, v]) => k === 'managed-by' && v === managedBy)) return true;
        }
        return false;
      },
    };
  }
  const kms = sessions.kms(t.accountId, t.region);
  return {
    key: targetKey(t),
    describe: `key ${t.keyArn}`,
    maxBytes: KEY_POLICY_MAX_BYTES,
    read: async () => parseRawPolicy(await kmsApi.getKeyPolicyText(kms, t.keyArn)),
    write: async (p) => {
      // a key policy is never left empty: the account's own statements always remain
      if (!p.statements.length) throw new InternalError(`refusing to leave the policy of key ${t.keyArn} empty`);
      await kmsApi.putKeyPolicy(kms, t.keyArn, renderRawPolicy(p));
    },
  };
}

export interface RunnerDeps {
  sessions: ProvisionerSessions;
  /** told the alias of each access point created (AWS makes it up: the answer's snippets name it) */
  createdAccessPoint?: (arn: string, alias: string) => void;
  writer: PolicyWriter;
  /** how OIDC providers are deleted: a claim right before (false: something adopted it meanwhile; skip) */
  providers?: ProviderDeletion;
}

export function stepRunner(deps: RunnerDeps): StepRunner {
  const { sessions } = deps;
  return async (s: Step): Promise<boolean> => {
    const iam = sessions.iam(s.accountId);
    switch (s.action) {
      case 'create-oidc-provider':
        await iamApi.createOidcProvider(iam, s.params.issuerUrl, s.params.tags);
        return true;
      case 'create-role':
        await iamApi.createRole(iam, s.params);
        return true;
      case 'update-trust-policy':
        await iamApi.updateTrust(iam, s.params.role, s.params.trust);
        return true;
      case 'tag-role':
        await iamApi.tagRole(iam, s.params.role, s.params.tags);
        return true;
      case 'untag-role':
        await iamApi.untagRole(iam, s.params.role, s.params.keys);
        return true;
      case 'set-permissions-boundary':
        await iamApi.putBoundary(iam, s.params.role, s.params.boundaryArn);
        return true;
      case 'put-role-policy':
      case 'put-instance-role-grant':
        await iamApi.putRolePolicy(iam, s.params.role, s.params.policyName, s.params.document);
        return true;
      case 'delete-role-policy':
      case 'delete-instance-role-grant':
        return (await iamApi.deleteRolePolicy(iam, s.params.role, s.params.policyName)) !== undefined;
      case 'detach-role-policy':
        return (await iamApi.detachRolePolicy(iam, s.params.role, s.params.policyArn)) !== undefined;
      case 'delete-role':
        return (await iamApi.deleteRole(iam, s.params.role)) !== undefined;
      case 'delete-oidc-provider': {
        if (deps.providers && !(await deps.providers.claim(s.params.arn))) return false;
        let deleted = false;
        try {
          deleted = (await iamApi.deleteOidcProvider(iam, s.params.arn)) !== undefined;
          return deleted;
        } finally {
          await deps.providers?.release(s.params.arn, deleted);
        }
      }
      case 'put-bucket-policy-statements':
      case 'remove-bucket-policy-statements':
      case 'put-key-policy-statement':
      case 'remove-key-policy-statement':
        return deps.writer(policyTarget(sessions, s.params.target), {
          onboardingId: s.params.onboardingId,
          remove: s.params.remove,
          add: s.params.add,
        });
      case 'create-key-grant': {
        const g = s.params.grant;
        await kmsApi.createGrant(sessions.kms(g.accountId, g.region), {
          keyArn: g.keyArn,
          name: g.name,
          granteePrincipal: g.granteePrincipal,
          retiringPrincipal: g.retiringPrincipal,
          operations: g.operations,
        });
        return true;
      }
      case 'retire-key-grant': {
        const kms = sessions.kms(s.accountId, s.params.region);
        return s.params.retiring
          ? kmsApi.retireGrant(kms, s.params.keyArn, s.params.grantId)
          : kmsApi.revokeGrant(kms, s.params.keyArn, s.params.grantId);
      }
      case 'create-pod-identity-association':
      case 'update-pod-identity-association':
      case 'delete-pod-identity-association':
        return runPodIdentityStep(sessions, s);
      case 'create-access-point': {
        const s3c = sessions.s3control(s.accountId, s.params.region);
        const made = await s3cApi.createAccessPoint(s3c, s.accountId, s.params);
        if (made !== 'exists') {
          deps.createdAccessPoint?.(s.params.arn, made.alias);
          return true;
        }
        // the name is taken: by this very grant (an earlier attempt whose answer was lost), or by another access
        // point, which is never touched; a retry plans the next name
        const tags = await s3cApi.accessPointTags(s3c, s.accountId, s.params.arn);
        const id = s.scope.kind === 'grant' ? s.scope.id : '';
        if (tags && ownsAccessPoint(tags, tagOf(s.params.tags, 'managed-by'), id)) return false;
        throw new ConflictError(
          `access point ${s.params.name} was just created by someone else; retry to take another name`,
        );
      }
      case 'put-access-point-policy':
        await s3cApi.putAccessPointPolicy(
          sessions.s3control(s.accountId, s.params.region),
          s.accountId,
          s.params.name,
          s.params.policy,
        );
        return true;
      case 'delete-access-point':
        return s3cApi.deleteAccessPoint(sessions.s3control(s.accountId, s.params.region), s.accountId, s.params.name);
      case 'put-access-point-delegation':
      case 'remove-access-point-delegation': {
        const adding = s.action === 'put-access-point-delegation';
        return deps.writer(policyTarget(sessions, s.params.target), {
          onboardingId: s.params.onboardingId,
          remove: adding ? [] : [s.params.statement],
          add: adding ? [s.params.statement] : [],
          ...(adding
            ? // found in place when planned: likely still there, so first a look without the lease; found missing: the
              // lease at once (a look first would only add a read before the write)
              { presentSuffices: s.params.seen !== false }
            : { keepWhileAccessPoints: { except: s.params.except ?? [], managedBy: s.params.managedBy } }),
        });
      }
    }
  };
}

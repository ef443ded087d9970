import type { PolicyDocument } from '../../policy/types';
import type { BucketStatements, GrantDesired, GrantRef, KeyStatements, ProviderRef } from './desired';
import type { KeyGrant } from './key-grant';
import type {
  Change,
  ClusterRef,
  IdentityKind,
  OnboardingInput,
  OnboardingResult,
  WorkloadIdentity,
} from './onboarding';
import type { Step } from './steps';
import { requirementsOf } from './requirements';

/**
 * The records the service keeps. They say what is live, step by step: a refused or failed change never records
 * its desired state as applied.
 */

type RecordStatus = 'provisioning' | 'provisioned' | 'failed' | 'deleting' | 'deleted';

/** What this grant holds in AWS, as far as finished steps say (never what a failed step meant to write). */
/** An access point the grant made (access-point mode): where, and its policy once written. */
interface AccessPointLive {
  accountId: string;
  region: string;
  bucket: string;
  name: string;
  arn: string;
  policy?: PolicyDocument;
}

export interface GrantLive {
  permissions?: PolicyDocument;
  accessPoint?: AccessPointLive;
  bucketStatements?: BucketStatements;
  /** the onboarding's KMS grant (found by its name on the key, among the grantee's grants) */
  keyGrant?: KeyGrant;
  /** a key-policy statement written before grants (older records): removed once the grant exists */
  keyStatements?: KeyStatements;
}

export interface OnboardingRecord {
  schema: 2;
  id: string;
  version: number;
  status: RecordStatus;
  /** the request last applied or attempted */
  request: OnboardingInput;
  identityKey: string;
  /** the identity the grant is moving away from (its service accounts changed) until its policy there is gone */
  movingFrom?: string;
  roleArn: string;
  live: GrantLive;
  /** what the last fully applied change wanted: verify compares the live state with it */
  desired?: GrantDesired;
  /** the answer of the last fully applied change */
  result?: OnboardingResult;
  /** the change under way, or the one that failed; `writing`: the statements it set out to write */
  attempt?: { stepsPlanned: Change[]; stepsDone: Change[]; error?: string; writing?: GrantLive };
  createdAt: string;
  updatedAt: string;
  requestedBy: string;
  /** the drift sweep's last finding (lib/onboarding/sweep.ts): written by the sweep only, kept by the API's saves */
  drift?: DriftState;
}

/** What the last drift sweep found: `failing` names the verify checks that failed. */
export interface DriftState {
  ok: boolean;
  checkedAt: string;
  failing: string[];
}

export interface IdentityRecord {
  key: string;
  version: number;
  kind: IdentityKind;
  roleAccount: string;
  roleName: string;
  roleArn: string;
  clusters: ClusterRef[];
  namespace?: string;
  serviceAccounts: string[];
  instanceRoleArn?: string;
  bindings: string[];
  /** IRSA: the IAM OIDC providers the role trusts, in cluster order */
  providers: ProviderRef[];
  /** the onboardings granted on this role (applied, under way or failed: each still holds something) */
  grants: GrantRef[];
  createdAt: string;
  updatedAt: string;
}

/**
 * What is live once a plan for the grant fully succeeded: exactly what it wanted (a step changed what differed,
 * and what was already in place needed none, whoever wrote it: an earlier attempt that did not get to record it).
 */
export const liveOf = (want: GrantDesired): GrantLive => ({
  permissions: want.permissions,
  ...(want.accessPoint
    ? {
        accessPoint: {
          accountId: want.accessPoint.accountId,
          region: want.accessPoint.region,
          bucket: want.accessPoint.bucket,
          name: want.accessPoint.name,
          arn: want.accessPoint.arn,
          policy: want.accessPoint.policy,
        },
      }
    : {}),
  ...(want.bucketStatements ? { bucketStatements: want.bucketStatements } : {}),
  ...(want.keyGrant ? { keyGrant: want.keyGrant } : {}),
});

/** A finished step's effect on its grant's live state. */
export function liveAfter(live: GrantLive, step: Step, grantId: string): GrantLive {
  if (step.scope.kind !== 'grant' || step.scope.id !== grantId) return live;
  switch (step.action) {
    case 'put-role-policy':
      return { ...live, permissions: step.params.document };
    case 'delete-role-policy':
      return { ...live, permissions: undefined };
    case 'create-access-point':
      return {
        ...live,
        accessPoint: {
          accountId: step.accountId,
          region: step.params.region,
          bucket: step.params.bucket,
          name: step.params.name,
          arn: step.params.arn,
        },
      };
    case 'put-access-point-policy':
      return live.accessPoint?.arn === step.params.arn
        ? { ...live, accessPoint: { ...live.accessPoint, policy: step.params.policy } }
        : live;
    // a deleted access point stays on the record until the bucket's delegation has been dealt with: a DELETE that
    // fails in between finds it there, and removes the delegation when it is retried
    case 'remove-access-point-delegation':
      return { ...live, accessPoint: undefined };
    case 'put-bucket-policy-statements':
    case 'remove-bucket-policy-statements': {
      const t = step.params.target;
      if (t.kind !== 'bucket') return live;
      return {
        ...live,
        bucketStatements: step.params.add.length
          ? { accountId: t.accountId, bucket: t.bucket, region: t.region, statements: step.params.add }
          : undefined,
      };
    }
    case 'put-key-policy-statement':
    case 'remove-key-policy-statement': {
      const t = step.params.target;
      if (t.kind !== 'key') return live;
      return {
        ...live,
        keyStatements: step.params.add.length
          ? { accountId: t.accountId, region: t.region, keyArn: t.keyArn, statements: step.params.add }
          : undefined,
      };
    }
    case 'create-key-grant':
      return { ...live, keyGrant: step.params.grant };
    case 'retire-key-grant': {
      const g = live.keyGrant;
      const p = step.params;
      const same =
        g &&
        g.keyArn === p.keyArn &&
        g.granteePrincipal === p.granteePrincipal &&
        JSON.stringify(g.operations) === JSON.stringify(p.operations);
      return same ? { ...live, keyGrant: undefined } : live;
    }
    default:
      return live;
  }
}

/**
 * The KMS grants this onboarding may have made: the one its record holds, and the one an interrupted attempt set out
 * to make (its CreateGrant may have landed unrecorded). Each is found on its key by the grantee and the grant's name.
 */
export function writtenKeyGrants(rec: Pick<OnboardingRecord, 'live' | 'attempt'>): KeyGrant[] {
  const all = [rec.live.keyGrant, rec.attempt?.writing?.keyGrant].filter((g): g is KeyGrant => !!g);
  return [...new Map(all.map((g) => [JSON.stringify(g), g])).values()];
}

const sameTarget = (a: object | undefined, b: object | undefined): boolean =>
  !!a && !!b && JSON.stringify({ ...a, statements: undefined }) === JSON.stringify({ ...b, statements: undefined });

/**
 * The statements this grant may have written: what finished steps recorded, plus what an interrupted attempt set
 * out to write (a step can finish in AWS and the process die before recording it). Removal is by content, so
 * listing a statement that never made it is harmless.
 */
export function writtenOf(rec: Pick<OnboardingRecord, 'live' | 'attempt'>): GrantLive {
  const live = rec.live;
  const w = rec.attempt?.writing;
  if (!w) return live;
  const merge = <T extends { statements: PolicyDocument['Statement'] }>(
    a: T | undefined,
    b: T | undefined,
  ): T | undefined =>
    !a
      ? b
      : !b
        ? a
        : sameTarget(a, b)
          ? {
              ...a,
              statements: [
                ...a.statements,
                ...b.statements.filter((s) => !a.statements.some((x) => JSON.stringify(x) === JSON.stringify(s))),
              ],
            }
          : a;
  return {
    ...live,
    // an access point an interrupted attempt set out to create: removed (or adopted) by its tags, if it exists
    accessPoint: live.accessPoint ?? w.accessPoint,
    bucketStatements: merge(live.bucketStatements, w.bucketStatements),
    keyStatements: merge(live.keyStatements, w.keyStatements),
    ...(live.keyGrant || w.keyGrant ? { keyGrant: live.keyGrant ?? w.keyGrant } : {}),
  };
}

/** GET's body: the POST answer plus the record's own fields (contract section 4). */
export function recordBody(rec: OnboardingRecord): Record<string, unknown> {
  const base = rec.result ?? {
    id: rec.id,
    roleArn: rec.roleArn,
    roles: [],
    changes: [],
    policies: { trust: {}, permissions: rec.live.permissions ?? {}, bucketPolicyStatements: [] },
    snippets: {},
  };
  return {
    ...base,
    // what the snippets need, by today's table (a record written before it changed answers with the current one)
    requirements: requirementsOf(rec.request),
    id: rec.id,
    status: rec.status,
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
    requestedBy: rec.requestedBy,
    ...(rec.drift ? { drift: rec.drift } : {}),
    ...(rec.status !== 'provisioned' && rec.attempt
      ? {
          stepsPlanned: rec.attempt.stepsPlanned.map((c) => c.action),
          stepsDone: rec.attempt.stepsDone.map((c) => c.action),
          ...(rec.attempt.error ? { lastError: rec.attempt.error } : {}),
        }
      : {}),
  };
}

export function identityOfRecord(r: IdentityRecord): WorkloadIdentity {
  return {
    key: r.key,
    kind: r.kind,
    roleAccount: r.roleAccount,
    roleName: r.roleName,
    roleArn: r.roleArn,
    clusters: r.clusters,
    namespace: r.namespace,
    serviceAccounts: r.serviceAccounts,
    instanceRoleArn: r.instanceRoleArn,
    bindings: r.bindings,
  };
}

/** A key and a grantee, as a map key: one ListGrants (filtered by GranteePrincipal) reads its grants. */
export const keyGrantKey = (keyArn: string, grantee: string): string => `${keyArn} ${grantee}`;

/** The keys and grantees whose grants a plan needs read: those of the grants made or wanted. */
export const keyGrantReads = (
  written: readonly KeyGrant[],
  want?: KeyGrant,
): { keyArn: string; granteePrincipal: string }[] => [
  ...new Map(
    [...written, ...(want ? [want] : [])].map((g) => [
      keyGrantKey(g.keyArn, g.granteePrincipal),
      { keyArn: g.keyArn, granteePrincipal: g.granteePrincipal },
    ]),
  ).values(),
];

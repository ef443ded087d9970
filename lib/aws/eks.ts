import {
  CreatePodIdentityAssociationCommand,
  DeletePodIdentityAssociationCommand,
  DescribeAddonCommand,
  DescribeClusterCommand,
  DescribePodIdentityAssociationCommand,
  ListPodIdentityAssociationsCommand,
  UpdatePodIdentityAssociationCommand,
  type EKSClient,
} from '@aws-sdk/client-eks';
import { ConflictError, TransientError, ValidationError } from '../errors';
import { errorName, maybe, toDomainError } from './errors';

/** The cluster's OIDC issuer URL (https://oidc.eks.REGION.amazonaws.com/id/…). */
export async function clusterIssuer(eks: EKSClient, name: string, path: string): Promise<string> {
  try {
    const out = await eks.send(new DescribeClusterCommand({ name }));
    const issuer = out.cluster?.identity?.oidc?.issuer;
    if (!issuer)
      throw new ValidationError(`cluster ${name} has no OIDC issuer`, [
        { path, message: 'the cluster has no OIDC issuer' },
      ]);
    return issuer;
  } catch (e) {
    if (errorName(e) === 'ResourceNotFoundException') {
      throw new ValidationError(`cluster ${name} not found`, [
        { path, message: `no EKS cluster named ${name} in that account and region` },
      ]);
    }
    throw toDomainError(e, `describing cluster ${name}`);
  }
}

// ---------- EKS Pod Identity ----------

export interface AssociationSummary {
  id: string;
  namespace: string;
  serviceAccount: string;
}

export interface AssociationState extends AssociationSummary {
  arn: string;
  roleArn: string;
  targetRoleArn?: string;
  disableSessionTags: boolean;
  tags: Record<string, string>;
}

/** The associations of a namespace (all pages), or undefined when the cluster does not exist. */
export async function listPodIdentityAssociations(
  eks: EKSClient,
  cluster: string,
  namespace: string,
): Promise<AssociationSummary[] | undefined> {
  const out: AssociationSummary[] = [];
  let nextToken: string | undefined;
  do {
    const page = await maybe(`listing the Pod Identity associations of cluster ${cluster}`, () =>
      eks.send(new ListPodIdentityAssociationsCommand({ clusterName: cluster, namespace, nextToken, maxResults: 100 })),
    );
    if (!page) return undefined;
    for (const a of page.associations ?? [])
      out.push({ id: a.associationId!, namespace: a.namespace!, serviceAccount: a.serviceAccount! });
    nextToken = page.nextToken;
  } while (nextToken);
  return out;
}

/** One association, or undefined when it (or its cluster) is gone. */
export async function describePodIdentityAssociation(
  eks: EKSClient,
  cluster: string,
  id: string,
): Promise<AssociationState | undefined> {
  const out = await maybe(`reading Pod Identity association ${id} of cluster ${cluster}`, () =>
    eks.send(new DescribePodIdentityAssociationCommand({ clusterName: cluster, associationId: id })),
  );
  const a = out?.association;
  if (!a) return undefined;
  return {
    id: a.associationId!,
    arn: a.associationArn!,
    namespace: a.namespace!,
    serviceAccount: a.serviceAccount!,
    roleArn: a.roleArn!,
    ...(a.targetRoleArn ? { targetRoleArn: a.targetRoleArn } : {}),
    disableSessionTags: a.disableSessionTags === true,
    tags: a.tags ?? {},
  };
}

/** The status of an add-on, or undefined when the cluster does not have it (or does not exist). */
export async function addonStatus(eks: EKSClient, cluster: string, addon: string): Promise<string | undefined> {
  const out = await maybe(`reading add-on ${addon} of cluster ${cluster}`, () =>
    eks.send(new DescribeAddonCommand({ clusterName: cluster, addonName: addon })),
  );
  return out?.addon ? (out.addon.status ?? 'UNKNOWN') : undefined;
}

/** EKS Auto Mode runs the Pod Identity agent without the add-on (EKS User Guide, "Set up the Amazon EKS Pod Identity Agent"). */
export async function autoModeEnabled(eks: EKSClient, cluster: string): Promise<boolean> {
  const out = await maybe(`describing cluster ${cluster}`, () =>
    eks.send(new DescribeClusterCommand({ name: cluster })),
  );
  return out?.cluster?.computeConfig?.enabled === true;
}

/** IAM is eventually consistent: EKS may not see a role created a moment ago. A bounded wait, then the error. */
const ROLE_NOT_VISIBLE = /role provided in the request does not exist/i;
const PROPAGATION_DELAYS_MS = [250, 500, 1000, 2000, 4000, 4000, 4000, 4000];

async function whenRoleVisible<T>(
  what: string,
  fn: () => Promise<T>,
  sleep: (ms: number) => Promise<void>,
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const notVisible =
        errorName(e) === 'InvalidParameterException' && ROLE_NOT_VISIBLE.test((e as Error).message ?? '');
      if (notVisible && attempt < PROPAGATION_DELAYS_MS.length) {
        await sleep(PROPAGATION_DELAYS_MS[attempt]);
        continue;
      }
      if (notVisible)
        throw new TransientError(
          `${what}: EKS does not see the role yet (IAM propagation); retry the request in a minute`,
          { cause: e },
        );
      if (errorName(e) === 'ResourceInUseException')
        throw new ConflictError(
          `${what}: the service account was given another association meanwhile; retry the request to see it`,
        );
      throw toDomainError(e, what);
    }
  }
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface AssociationInput {
  cluster: string;
  namespace: string;
  serviceAccount: string;
  roleArn: string;
  targetRoleArn?: string;
  /** what marks the association as the service's own (ownership is by tag, never by the role it names) */
  tags?: Record<string, string>;
}

/** Creates an association (session tags on: the roles' trusts pin them); answers its id. */
export async function createPodIdentityAssociation(eks: EKSClient, a: AssociationInput, sleep = wait): Promise<string> {
  const what = `associating ${a.namespace}/${a.serviceAccount} of cluster ${a.cluster} with role ${a.roleArn}`;
  const out = await whenRoleVisible(
    what,
    () =>
      eks.send(
        new CreatePodIdentityAssociationCommand({
          clusterName: a.cluster,
          namespace: a.namespace,
          serviceAccount: a.serviceAccount,
          roleArn: a.roleArn,
          ...(a.targetRoleArn ? { targetRoleArn: a.targetRoleArn } : {}),
          ...(a.tags ? { tags: a.tags } : {}),
          disableSessionTags: false,
        }),
      ),
    sleep,
  );
  return out.association!.associationId!;
}

/** Points an association at the role (and target role: '' removes one) the service wants, with session tags on. */
export async function updatePodIdentityAssociation(
  eks: EKSClient,
  cluster: string,
  id: string,
  roleArn: string,
  targetRoleArn: string,
  sleep = wait,
): Promise<void> {
  await whenRoleVisible(
    `pointing Pod Identity association ${id} of cluster ${cluster} at role ${roleArn}`,
    () =>
      eks.send(
        new UpdatePodIdentityAssociationCommand({
          clusterName: cluster,
          associationId: id,
          roleArn,
          targetRoleArn,
          disableSessionTags: false,
        }),
      ),
    sleep,
  );
}

/** Deletes an association; undefined when it was already gone. */
export async function deletePodIdentityAssociation(
  eks: EKSClient,
  cluster: string,
  id: string,
): Promise<true | undefined> {
  const out = await maybe(`deleting Pod Identity association ${id} of cluster ${cluster}`, () =>
    eks.send(new DeletePodIdentityAssociationCommand({ clusterName: cluster, associationId: id })),
  );
  return out ? true : undefined;
}

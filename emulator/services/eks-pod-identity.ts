/**
 * EKS Pod Identity on the EKS REST-JSON API: the association operations and DescribeAddon for the
 * `eks-pod-identity-agent` add-on. Shapes follow the SDK's model (@aws-sdk/client-eks); errors the EKS API
 * reference's codes (InvalidParameterException, ResourceInUseException, ResourceNotFoundException, …).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { CallContext, Caller, ServiceResponse } from '../context';
import { requireCaller } from '../context';
import { AwsError } from '../errors';
import { authorizeCall, requestTagContext } from '../authz';
import { findRoleByArn, parseDoc, type Cluster, type PodIdentityAssociation, type World } from '../state';
import { asArray, normalizeStatements } from '../../lib/iam-policy/grammar';
import { matchesWildcard } from '../../lib/iam-policy/conditions';

const POD_IDENTITY_AGENT = 'eks-pod-identity-agent';
export const PODS_SERVICE_PRINCIPAL = 'pods.eks.amazonaws.com';
/** the version DescribeAddon reports (fixed: the emulator models presence, not versions) */
const AGENT_VERSION = 'v1.3.8-eksbuild.2';
const ROLE_ARN = /^arn:aws:iam::\d{12}:role\/(.*\/)?[\w+=,.@-]+$/;

export const clusterArn = (c: { region: string; accountId: string; name: string }): string =>
  `arn:aws:eks:${c.region}:${c.accountId}:cluster/${c.name}`;

const invalidParameter = (message: string) => new AwsError('InvalidParameterException', message, 400);
const notFound = (message: string) => new AwsError('ResourceNotFoundException', message, 404);
const json = (body: unknown): ServiceResponse => ({
  status: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});
const epochSeconds = (d: Date): number => d.getTime() / 1000;

/** `a-` and 17 lower-case letters and digits, like AWS's association ids. */
function newAssociationId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return `a-${Array.from(randomBytes(17), (b) => alphabet[b % alphabet.length]).join('')}`;
}

type Route =
  | { op: 'CreatePodIdentityAssociation' | 'ListPodIdentityAssociations'; cluster: string }
  | {
      op: 'DescribePodIdentityAssociation' | 'UpdatePodIdentityAssociation' | 'DeletePodIdentityAssociation';
      cluster: string;
      id: string;
    }
  | { op: 'DescribeAddon'; cluster: string; addon: string };

function route(method: string, path: string): Route | undefined {
  const list = /^\/clusters\/([^/]+)\/pod-identity-associations\/?$/.exec(path);
  if (list) {
    const cluster = decodeURIComponent(list[1]);
    if (method === 'POST') return { op: 'CreatePodIdentityAssociation', cluster };
    if (method === 'GET') return { op: 'ListPodIdentityAssociations', cluster };
    return undefined;
  }
  const one = /^\/clusters\/([^/]+)\/pod-identity-associations\/([^/]+)$/.exec(path);
  if (one) {
    const cluster = decodeURIComponent(one[1]);
    const id = decodeURIComponent(one[2]);
    const op = (
      {
        GET: 'DescribePodIdentityAssociation',
        POST: 'UpdatePodIdentityAssociation',
        DELETE: 'DeletePodIdentityAssociation',
      } as const
    )[method as 'GET'];
    return op ? { op, cluster, id } : undefined;
  }
  const addon = /^\/clusters\/([^/]+)\/addons\/([^/]+)$/.exec(path);
  if (addon && method === 'GET')
    return { op: 'DescribeAddon', cluster: decodeURIComponent(addon[1]), addon: decodeURIComponent(addon[2]) };
  return undefined;
}

/** The operation a request names, or undefined when it is not a Pod Identity / add-on route. */
export const podIdentityOperation = (method: string, path: string): string | undefined => route(method, path)?.op;

function associationJson(a: PodIdentityAssociation) {
  return {
    clusterName: a.clusterName,
    namespace: a.namespace,
    serviceAccount: a.serviceAccount,
    roleArn: a.roleArn,
    associationArn: a.associationArn,
    associationId: a.associationId,
    tags: a.tags,
    createdAt: epochSeconds(a.createdAt),
    modifiedAt: epochSeconds(a.modifiedAt),
    disableSessionTags: a.disableSessionTags,
    ...(a.targetRoleArn ? { targetRoleArn: a.targetRoleArn, externalId: a.externalId } : {}),
  };
}

const summaryJson = (a: PodIdentityAssociation) => ({
  clusterName: a.clusterName,
  namespace: a.namespace,
  serviceAccount: a.serviceAccount,
  associationArn: a.associationArn,
  associationId: a.associationId,
});

/** The association belongs to this cluster (clusters are named per account and region). */
const inCluster = (a: PodIdentityAssociation, cluster: Cluster): boolean =>
  a.accountId === cluster.accountId && a.region === cluster.region && a.clusterName === cluster.name;

/** The association a pod's service account has in a cluster, if any. */
export function associationFor(
  world: World,
  cluster: Cluster,
  namespace: string,
  serviceAccount: string,
): PodIdentityAssociation | undefined {
  for (const a of world.podIdentityAssociations.values()) {
    if (inCluster(a, cluster) && a.namespace === namespace && a.serviceAccount === serviceAccount) return a;
  }
  return undefined;
}

function parseBody(ctx: CallContext): Record<string, unknown> {
  const text = ctx.req.body.toString('utf8');
  if (!text) return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new AwsError('SerializationException', 'Request body is not a JSON object', 400);
}

function requiredString(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  if (typeof v !== 'string' || v === '') throw invalidParameter(`${name} is required and must be a non-empty string`);
  return v;
}

function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalidParameter(`${name} must be a string`);
  return v;
}

function tagsOf(body: Record<string, unknown>): Record<string, string> {
  const t = body.tags;
  if (t === undefined || t === null) return {};
  if (typeof t !== 'object' || Array.isArray(t) || Object.values(t).some((v) => typeof v !== 'string'))
    throw invalidParameter('tags must be a map of strings');
  const tags = t as Record<string, string>;
  if (Object.keys(tags).length > 50) throw invalidParameter('Tags cannot exceed 50');
  for (const [k, v] of Object.entries(tags)) {
    if (k.length < 1 || k.length > 128 || v.length > 256)
      throw invalidParameter('Tag keys must be 1-128 characters and values at most 256');
  }
  return tags;
}

/** The cluster of the caller's account and region with that name. */
function clusterOf(ctx: CallContext, caller: Caller, name: string): Cluster {
  const c = ctx.world.clusters.find(
    (x) => x.accountId === caller.accountId && x.region === ctx.req.region && x.name === name,
  );
  if (!c) throw notFound(`No cluster found for name: ${name}.`);
  return c;
}

/** A session policy on the association is not modelled: refuse it rather than silently grant more than AWS would. */
function refuseSessionPolicy(body: Record<string, unknown>): void {
  if (body.policy !== undefined && body.policy !== null) {
    if (body.disableSessionTags !== true)
      throw invalidParameter('disableSessionTags must be true when a policy is given');
    throw new AwsError(
      'InvalidRequestException',
      'The emulator does not implement association session policies (policy)',
      400,
    );
  }
}

/**
 * The role of an association as EKS checks it: iam:PassRole for the caller (to pods.eks.amazonaws.com), a role
 * that exists in the cluster's account, and a trust policy that lets the EKS Pod Identity service principal
 * assume it (EKS answers `Trust policy of the role provided is invalid` otherwise).
 */
function checkAssociationRole(ctx: CallContext, caller: Caller, cluster: Cluster, roleArn: string): void {
  if (!ROLE_ARN.test(roleArn)) throw invalidParameter(`Invalid Role Arn: '${roleArn}'`);
  authorizeCall(ctx.world, caller, {
    action: 'iam:PassRole',
    resource: roleArn,
    resourceAccountId: roleArn.split(':')[4],
    context: { 'iam:PassedToService': PODS_SERVICE_PRINCIPAL },
  });
  const role = findRoleByArn(ctx.world, roleArn);
  if (!role || role.accountId !== cluster.accountId || ctx.now < role.visibleAt)
    throw invalidParameter('Role provided in the request does not exist');
  const trusted = normalizeStatements(parseDoc(role.trustPolicy)).some(
    (st) =>
      st.Effect === 'Allow' &&
      st.Principal !== undefined &&
      st.Principal !== '*' &&
      asArray(st.Principal.Service).some((s) => String(s).toLowerCase() === PODS_SERVICE_PRINCIPAL) &&
      asArray(st.Action).some((a) => matchesWildcard(String(a), 'sts:AssumeRole', true)),
  );
  if (!trusted) throw invalidParameter('Trust policy of the role provided is invalid');
}

function checkTargetRoleArn(target: string | undefined): void {
  // EKS takes the target role on trust (it may live in another account); it is checked when pods assume it
  if (target && !ROLE_ARN.test(target)) throw invalidParameter(`Invalid Role Arn: '${target}'`);
}

function associationOf(ctx: CallContext, cluster: Cluster, id: string): PodIdentityAssociation {
  const a = ctx.world.podIdentityAssociations.get(id);
  if (!a || !inCluster(a, cluster)) {
    throw notFound(`No Pod Identity Association found for id: ${id}`);
  }
  return a;
}

const associationArnOf = (region: string, accountId: string, cluster: string, id: string): string =>
  `arn:aws:eks:${region}:${accountId}:podidentityassociation/${cluster}/${id}`;

/** Deterministic per cluster, like a real add-on's ARN that stays the same while it is installed. */
const addonArnOf = (c: Cluster, addon: string): string => {
  const h = createHash('sha256')
    .update(`${clusterArn(c)}/${addon}`)
    .digest('hex');
  return `arn:aws:eks:${c.region}:${c.accountId}:addon/${c.name}/${addon}/${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
};

export function handlePodIdentity(ctx: CallContext): ServiceResponse {
  const caller = requireCaller(ctx);
  const { world, req } = ctx;
  const r = route(req.method, req.path);
  if (!r)
    throw new AwsError('InvalidRequestException', `The emulator does not implement ${req.method} ${req.path}`, 400);
  const arn = clusterArn({ region: req.region, accountId: caller.accountId, name: r.cluster });

  switch (r.op) {
    case 'CreatePodIdentityAssociation': {
      const body = parseBody(ctx);
      const tags = tagsOf(body);
      authorizeCall(world, caller, {
        action: 'eks:CreatePodIdentityAssociation',
        resource: arn,
        resourceAccountId: caller.accountId,
        context: requestTagContext(tags),
      });
      const cluster = clusterOf(ctx, caller, r.cluster);
      const namespace = requiredString(body, 'namespace');
      const serviceAccount = requiredString(body, 'serviceAccount');
      const roleArn = requiredString(body, 'roleArn');
      const targetRoleArn = optionalString(body, 'targetRoleArn') || undefined;
      const clientRequestToken = optionalString(body, 'clientRequestToken');
      refuseSessionPolicy(body);
      checkTargetRoleArn(targetRoleArn);
      if (clientRequestToken) {
        // a retried request with the same token answers the association it created
        const same = [...world.podIdentityAssociations.values()].find(
          (a) => a.clientRequestToken === clientRequestToken && inCluster(a, cluster),
        );
        if (same) return json({ association: associationJson(same) });
      }
      checkAssociationRole(ctx, caller, cluster, roleArn);
      const existing = associationFor(world, cluster, namespace, serviceAccount);
      if (existing)
        throw new AwsError('ResourceInUseException', `Association already exists: ${existing.associationId}`, 409);
      const id = newAssociationId();
      const now = new Date(ctx.now);
      const a: PodIdentityAssociation = {
        associationId: id,
        associationArn: associationArnOf(cluster.region, cluster.accountId, cluster.name, id),
        clusterName: cluster.name,
        accountId: cluster.accountId,
        region: cluster.region,
        namespace,
        serviceAccount,
        roleArn,
        targetRoleArn,
        externalId: `${cluster.region}/${cluster.accountId}/${cluster.name}/${namespace}/${serviceAccount}`,
        disableSessionTags: body.disableSessionTags === true,
        tags,
        clientRequestToken,
        createdAt: now,
        modifiedAt: now,
      };
      world.podIdentityAssociations.set(id, a);
      return json({ association: associationJson(a) });
    }

    case 'ListPodIdentityAssociations': {
      authorizeCall(world, caller, {
        action: 'eks:ListPodIdentityAssociations',
        resource: arn,
        resourceAccountId: caller.accountId,
      });
      const cluster = clusterOf(ctx, caller, r.cluster);
      const q = req.query;
      const max = q.has('maxResults') ? Number(q.get('maxResults')) : 100;
      if (!Number.isInteger(max) || max < 1 || max > 100)
        throw invalidParameter('maxResults must be between 1 and 100');
      const all = [...world.podIdentityAssociations.values()]
        .filter(
          (a) => a.accountId === cluster.accountId && a.region === cluster.region && a.clusterName === cluster.name,
        )
        .filter(
          (a) =>
            (!q.get('namespace') || a.namespace === q.get('namespace')) &&
            (!q.get('serviceAccount') || a.serviceAccount === q.get('serviceAccount')),
        )
        .sort(
          (x, y) => x.createdAt.getTime() - y.createdAt.getTime() || x.associationId.localeCompare(y.associationId),
        );
      let start = 0;
      const token = q.get('nextToken');
      if (token) {
        const after = Buffer.from(token, 'base64url').toString('utf8');
        const i = all.findIndex((a) => a.associationId === after);
        if (!after.startsWith('a-') || i < 0) throw invalidParameter('The nextToken is invalid');
        start = i + 1;
      }
      const page = all.slice(start, start + max);
      const more = start + max < all.length;
      return json({
        associations: page.map(summaryJson),
        ...(more ? { nextToken: Buffer.from(page[page.length - 1].associationId).toString('base64url') } : {}),
      });
    }

    case 'DescribePodIdentityAssociation':
    case 'UpdatePodIdentityAssociation':
    case 'DeletePodIdentityAssociation': {
      const resource = associationArnOf(req.region, caller.accountId, r.cluster, r.id);
      const body = r.op === 'UpdatePodIdentityAssociation' ? parseBody(ctx) : {};
      authorizeCall(world, caller, { action: `eks:${r.op}`, resource, resourceAccountId: caller.accountId });
      const cluster = clusterOf(ctx, caller, r.cluster);
      const a = associationOf(ctx, cluster, r.id);
      if (r.op === 'DeletePodIdentityAssociation') {
        world.podIdentityAssociations.delete(a.associationId);
        return json({ association: associationJson(a) });
      }
      if (r.op === 'UpdatePodIdentityAssociation') {
        const roleArn = optionalString(body, 'roleArn');
        const targetRoleArn = optionalString(body, 'targetRoleArn');
        refuseSessionPolicy(body);
        if (targetRoleArn) checkTargetRoleArn(targetRoleArn);
        if (roleArn !== undefined) checkAssociationRole(ctx, caller, cluster, roleArn);
        if (roleArn !== undefined) a.roleArn = roleArn;
        // an empty string removes the target role
        if (targetRoleArn !== undefined) a.targetRoleArn = targetRoleArn || undefined;
        if (typeof body.disableSessionTags === 'boolean') a.disableSessionTags = body.disableSessionTags;
        a.modifiedAt = new Date(ctx.now);
      }
      return json({ association: associationJson(a) });
    }

    case 'DescribeAddon': {
      const cluster = world.clusters.find(
        (x) => x.accountId === caller.accountId && x.region === req.region && x.name === r.cluster,
      );
      const resource = cluster
        ? addonArnOf(cluster, r.addon)
        : `arn:aws:eks:${req.region}:${caller.accountId}:addon/${r.cluster}/${r.addon}/*`;
      authorizeCall(world, caller, { action: 'eks:DescribeAddon', resource, resourceAccountId: caller.accountId });
      if (!cluster) throw notFound(`No cluster found for name: ${r.cluster}.`);
      // the only add-on the emulator knows is the Pod Identity agent, present unless the topology says otherwise
      if (r.addon !== POD_IDENTITY_AGENT || !cluster.podIdentityAgent)
        throw notFound(`No addon: ${r.addon} found in cluster: ${cluster.name}`);
      return json({
        addon: {
          addonName: r.addon,
          clusterName: cluster.name,
          status: 'ACTIVE',
          addonVersion: AGENT_VERSION,
          health: { issues: [] },
          addonArn: addonArnOf(cluster, r.addon),
          createdAt: epochSeconds(cluster.createdAt),
          modifiedAt: epochSeconds(cluster.createdAt),
          tags: {},
          podIdentityAssociations: [],
        },
      });
    }
  }
}

/**
 * Amazon EKS Auth (SigV4 signing name `eks-auth`, REST-JSON): AssumeRoleForPodIdentity, the call the node's
 * EKS Pod Identity agent makes for a pod. Shapes and error codes follow the eks-auth 2023-11-26 model.
 */
import { randomUUID } from 'node:crypto';
import type { CallContext, Caller, ServiceModule, ServiceResponse } from '../context';
import { requireCaller } from '../context';
import { AwsError } from '../errors';
import { authorizeCall, livePolicy, requestTagContext } from '../authz';
import { findRoleByArn, type Cluster, type Session } from '../state';
import { authorize } from '../../lib/iam-policy/evaluate';
import { type ContextValue } from '../../lib/iam-policy/conditions';
import { verifyToken } from '../tokens';
import { assumeRole, issueSession, sessionSecrets } from './sts';
import { PODS_SERVICE_PRINCIPAL, associationFor, clusterArn } from './eks-pod-identity';

const PATH = /^\/clusters\/([^/]+)\/assume-role-for-pod-identity\/?$/;
const TOKEN = /^[A-Za-z0-9\-_=]+\.[A-Za-z0-9\-_=]+\.[A-Za-z0-9\-_=]+$/;
/** EKS Pod Identity credentials without a target role: the agent caches them for 6 hours (EKS user guide) */
const POD_SESSION_SECONDS = 6 * 3600;
/** with a target role the second hop is role chaining, capped at one hour */
const TARGET_SESSION_SECONDS = 3600;

const invalidToken = (m: string) => new AwsError('InvalidTokenException', m, 400);
const accessDeniedException = (m: string) => new AwsError('AccessDeniedException', m, 400);

interface PodClaims {
  namespace?: string;
  serviceaccount?: { name?: string; uid?: string };
  pod?: { name?: string; uid?: string };
}

/** The six session tags EKS Pod Identity adds (all transitive), unless the association disables them. */
function podSessionTags(
  cluster: Cluster,
  namespace: string,
  serviceAccount: string,
  pod: { name?: string; uid?: string },
): Record<string, string> {
  const tags: Record<string, string> = {
    'eks-cluster-arn': clusterArn(cluster),
    'eks-cluster-name': cluster.name,
    'kubernetes-namespace': namespace,
    'kubernetes-service-account': serviceAccount,
  };
  if (pod.name) tags['kubernetes-pod-name'] = pod.name;
  if (pod.uid) tags['kubernetes-pod-uid'] = pod.uid;
  return tags;
}

const credentialsJson = (s: Session) => ({
  ...sessionSecrets(s),
  accessKeyId: s.accessKeyId,
  expiration: Math.floor(s.expiresAt / 1000),
});

function handle(ctx: CallContext): ServiceResponse {
  if (ctx.operation !== 'AssumeRoleForPodIdentity') {
    throw new AwsError(
      'InvalidRequestException',
      `The emulator does not implement ${ctx.req.method} ${ctx.req.path}`,
      400,
    );
  }
  const caller = requireCaller(ctx);
  const { world, req } = ctx;
  const name = decodeURIComponent(PATH.exec(req.path)![1]);
  // the caller is the node (its instance role): it needs eks-auth:AssumeRoleForPodIdentity on the cluster
  authorizeCall(world, caller, {
    action: 'eks-auth:AssumeRoleForPodIdentity',
    resource: clusterArn({ region: req.region, accountId: caller.accountId, name }),
    resourceAccountId: caller.accountId,
  });
  const cluster = world.clusters.find(
    (c) => c.accountId === caller.accountId && c.region === req.region && c.name === name,
  );
  if (!cluster) throw new AwsError('ResourceNotFoundException', `No cluster found for name: ${name}.`, 404);

  let body: { token?: unknown };
  try {
    body = JSON.parse(req.body.toString('utf8') || '{}') as { token?: unknown };
  } catch {
    throw new AwsError('InvalidParameterException', 'Request body is not JSON', 400);
  }
  const token = body.token;
  if (typeof token !== 'string' || !TOKEN.test(token))
    throw new AwsError('InvalidParameterException', 'token must be a JSON web token', 400);
  const claims = verifyToken(world, token);
  if (!claims) throw invalidToken('The service account token could not be validated');
  if (claims.exp * 1000 <= ctx.now)
    throw new AwsError('ExpiredTokenException', 'The service account token has expired', 400);
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(PODS_SERVICE_PRINCIPAL))
    throw invalidToken(`The service account token's audience is not ${PODS_SERVICE_PRINCIPAL}`);
  // a token of another cluster is signed by that cluster's issuer, not this one's
  if (claims.iss !== cluster.issuer) throw invalidToken('The service account token was not issued by this cluster');
  const k8s = (claims['kubernetes.io'] ?? {}) as PodClaims;
  const namespace = k8s.namespace;
  const serviceAccount = k8s.serviceaccount?.name;
  if (!namespace || !serviceAccount)
    throw invalidToken('The service account token names no namespace and service account');

  const association = associationFor(world, cluster, namespace, serviceAccount);
  if (!association) {
    throw new AwsError(
      'ResourceNotFoundException',
      `No Pod Identity Association for service account ${namespace}/${serviceAccount} in cluster ${cluster.name}`,
      404,
    );
  }

  // first hop: EKS assumes the association's role as the service principal, with the session tags
  const role = findRoleByArn(world, association.roleArn);
  const denied = (action: string, arn: string) =>
    accessDeniedException(`${PODS_SERVICE_PRINCIPAL} is not authorized to perform: ${action} on resource: ${arn}`);
  if (!role || ctx.now < role.visibleAt) throw denied('sts:AssumeRole', association.roleArn);
  const tags = association.disableSessionTags ? {} : podSessionTags(cluster, namespace, serviceAccount, k8s.pod ?? {});
  const keys = Object.keys(tags);
  const context: Record<string, ContextValue> = {
    'aws:SecureTransport': 'true',
    'aws:PrincipalServiceName': PODS_SERVICE_PRINCIPAL,
  };
  Object.assign(context, requestTagContext(tags));
  if (keys.length) context['sts:TransitiveTagKeys'] = keys;
  for (const action of keys.length ? ['sts:AssumeRole', 'sts:TagSession'] : ['sts:AssumeRole']) {
    const decision = authorize({
      principal: { arn: '', accountId: '', service: PODS_SERVICE_PRINCIPAL },
      action,
      resource: role.arn,
      resourceAccountId: role.accountId,
      identityPolicies: [],
      resourcePolicy: livePolicy(world, role.trustPolicy, role.trustBindings),
      resourcePolicyRequired: true,
      resourcePolicyName: 'trust policy',
      context,
    });
    if (!decision.allowed) throw denied(action, role.arn);
  }
  const podName = k8s.pod?.name ?? serviceAccount;
  const sessionName = `eks-${cluster.name}-${podName}-${randomUUID()}`.slice(0, 64).replace(/-+$/, '');
  let session = issueSession(
    world,
    role,
    sessionName,
    association.targetRoleArn ? TARGET_SESSION_SECONDS : POD_SESSION_SECONDS,
    false,
    {
      tags,
      transitiveTagKeys: keys,
    },
  );
  let assumed = role;

  // second hop: the first role's session assumes the target role (its transitive tags carry over)
  if (association.targetRoleArn) {
    const first: Caller = { arn: session.arn, accountId: session.accountId, accessKeyId: session.accessKeyId, session };
    try {
      ({ session, role: assumed } = assumeRole(world, first, ctx.now, {
        roleArn: association.targetRoleArn,
        sessionName,
        externalId: association.externalId,
        durationSeconds: TARGET_SESSION_SECONDS,
      }));
    } finally {
      // the intermediate credentials never leave EKS
      world.sessions.delete(first.accessKeyId);
    }
  }

  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      subject: { namespace, serviceAccount },
      audience: PODS_SERVICE_PRINCIPAL,
      podIdentityAssociation: { associationArn: association.associationArn, associationId: association.associationId },
      assumedRoleUser: { arn: session.arn, assumeRoleId: `${assumed.roleId}:${session.sessionName}` },
      credentials: credentialsJson(session),
    }),
  };
}

export const eksAuth: ServiceModule = {
  name: 'eks-auth',
  operationOf: (req) => (req.method === 'POST' && PATH.test(req.path) ? 'AssumeRoleForPodIdentity' : 'Unknown'),
  handle,
  renderError(code, message, status) {
    // EKS Auth models AccessDeniedException with HTTP 400
    const type = code === 'AccessDenied' ? 'AccessDeniedException' : code;
    return {
      status: type === 'AccessDeniedException' ? 400 : status,
      headers: { 'content-type': 'application/json', 'x-amzn-errortype': type },
      body: JSON.stringify({ message }),
    };
  },
};

import type { CallContext, ServiceModule } from '../context';
import { requireCaller } from '../context';
import { AwsError } from '../errors';
import { authorizeCall } from '../authz';
import type { Cluster } from '../state';
import { handlePodIdentity, podIdentityOperation } from './eks-pod-identity';

function clusterJson(c: Cluster) {
  return {
    name: c.name,
    arn: `arn:aws:eks:${c.region}:${c.accountId}:cluster/${c.name}`,
    createdAt: c.createdAt.getTime() / 1000,
    version: '1.33',
    endpoint: `https://${c.issuer.split('/').pop()}.gr7.${c.region}.eks.amazonaws.com`,
    roleArn: `arn:aws:iam::${c.accountId}:role/eks-cluster-role`,
    identity: { oidc: { issuer: c.issuer } },
    // parts every cluster has (the emulator has no VPCs, logs or control plane: placeholders of the right shape)
    resourcesVpcConfig: { subnetIds: [] },
    kubernetesNetworkConfig: { serviceIpv4Cidr: '10.100.0.0/16' },
    logging: {
      clusterLogging: [{ types: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'], enabled: false }],
    },
    certificateAuthority: { data: Buffer.from(`emulator CA of ${c.name}`).toString('base64') },
    status: 'ACTIVE',
    platformVersion: 'eks.1',
    tags: {},
  };
}

function handle(ctx: CallContext) {
  if (podIdentityOperation(ctx.req.method, ctx.req.path)) return handlePodIdentity(ctx);
  const caller = requireCaller(ctx);
  const { req, world } = ctx;
  const inScope = world.clusters.filter((c) => c.accountId === caller.accountId && c.region === req.region);
  if (ctx.operation === 'ListClusters') {
    authorizeCall(world, caller, {
      action: 'eks:ListClusters',
      resource: `arn:aws:eks:${req.region}:${caller.accountId}:cluster/*`,
      resourceAccountId: caller.accountId,
    });
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ clusters: inScope.map((c) => c.name) }),
    };
  }
  if (ctx.operation === 'DescribeCluster') {
    const name = decodeURIComponent(req.path.split('/')[2] ?? '');
    const arn = `arn:aws:eks:${req.region}:${caller.accountId}:cluster/${name}`;
    authorizeCall(world, caller, { action: 'eks:DescribeCluster', resource: arn, resourceAccountId: caller.accountId });
    const c = inScope.find((x) => x.name === name);
    if (!c) throw new AwsError('ResourceNotFoundException', `No cluster found for name: ${name}.`, 404);
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ cluster: clusterJson(c) }),
    };
  }
  throw new AwsError('InvalidRequestException', `The emulator does not implement ${req.method} ${req.path}`, 400);
}

export const eks: ServiceModule = {
  name: 'eks',
  operationOf(req) {
    if (req.method === 'GET' && /^\/clusters\/?$/.test(req.path)) return 'ListClusters';
    if (req.method === 'GET' && /^\/clusters\/[^/]+$/.test(req.path)) return 'DescribeCluster';
    return podIdentityOperation(req.method, req.path) ?? 'Unknown';
  },
  handle,
  renderError(code, message, status) {
    const type = code === 'AccessDenied' ? 'AccessDeniedException' : code;
    return {
      status,
      headers: { 'content-type': 'application/json', 'x-amzn-errortype': type },
      body: JSON.stringify({ message }),
    };
  },
};

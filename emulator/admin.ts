import * as z from 'zod';
import { randomUUID } from 'node:crypto';
import { findRoleByArn, type World } from './state';
import { issueToken } from './tokens';
import { issueSession } from './services/sts';

export interface AdminRequest {
  method: string;
  path: string;
  body: Buffer;
  reset: () => Promise<void>;
}
export interface AdminResponse {
  status: number;
  body?: unknown;
}

const faultSchema = z
  .strictObject({
    service: z.string().optional(),
    operation: z.string().optional(),
    errorCode: z.string().min(1).optional(),
    httpStatus: z.number().int().min(400).max(599).optional(),
    message: z.string().optional(),
    count: z.number().int().positive().optional(),
    probability: z.number().min(0).max(1).optional(),
    after: z.number().int().nonnegative().optional(),
    /** extension: the matching call waits this long first (then fails with errorCode, or succeeds without one) */
    delayMs: z.number().int().min(0).max(60_000).optional(),
  })
  .refine((f) => (f.errorCode === undefined) === (f.httpStatus === undefined), 'errorCode and httpStatus go together')
  .refine(
    (f) => f.errorCode !== undefined || f.delayMs !== undefined,
    'a fault needs errorCode and httpStatus, delayMs, or both',
  );
const latencySchema = z.strictObject({ perCallMs: z.number().int().min(0).max(60_000) });
const propagationSchema = z.strictObject({ delayMs: z.number().int().min(0).max(600_000) });
const tokenSchema = z.strictObject({
  cluster: z.string(),
  namespace: z.string(),
  serviceAccount: z.string(),
  audience: z.string().optional(),
  accountId: z.string().optional(),
  region: z.string().optional(),
  expiresInSeconds: z.number().int().optional(),
  /** the pod the projected token is bound to (EKS Pod Identity session tags kubernetes-pod-name / -uid) */
  podName: z.string().min(1).optional(),
  podUid: z.string().min(1).optional(),
});
const imdsSchema = z.strictObject({ roleArn: z.string().nullable() });
const credentialsSchema = z.strictObject({
  roleArn: z.string(),
  sessionName: z.string().default('local'),
  durationSeconds: z.number().int().min(60).max(43_200).default(43_200),
});

const json = (body: Buffer): unknown => (body.length ? JSON.parse(body.toString('utf8')) : {});

/** The emulator's own admin API (contract section 3). */
export async function handleAdmin(world: World, r: AdminRequest): Promise<AdminResponse> {
  const route = `${r.method} ${r.path.replace(/\/+$/, '')}`;
  try {
    switch (route) {
      case 'GET /_emulator/health':
        return {
          status: 200,
          body: {
            ok: true,
            services: ['iam', 'sts', 's3', 's3control', 'eks', 'kms', 'eks-auth', 'events'],
            accounts: [...world.accounts.keys()],
          },
        };
      case 'POST /_emulator/reset':
        await r.reset();
        return { status: 200, body: { ok: true } };
      case 'GET /_emulator/calls':
        return { status: 200, body: world.calls };
      case 'DELETE /_emulator/calls':
        world.calls.length = 0;
        return { status: 204 };
      case 'GET /_emulator/events':
        // contract section 3: [{ time, eventBusName, account, source, detailType, detail }], in order received
        return {
          status: 200,
          body: world.events.map((e) => ({
            time: e.time,
            eventBusName: e.eventBusName,
            account: e.account,
            source: e.source,
            detailType: e.detailType,
            detail: e.detail,
            id: e.id,
            region: e.region,
            resources: e.resources,
          })),
        };
      case 'DELETE /_emulator/events':
        world.events.length = 0;
        return { status: 204 };
      case 'GET /_emulator/faults':
        return { status: 200, body: world.faults };
      case 'POST /_emulator/faults': {
        const f = faultSchema.parse(json(r.body));
        const fault = { id: ++world.faultSeq, ...f };
        world.faults.push(fault);
        return { status: 201, body: fault };
      }
      case 'DELETE /_emulator/faults':
        world.faults.length = 0;
        return { status: 204 };
      case 'POST /_emulator/latency':
        world.perCallMs = latencySchema.parse(json(r.body)).perCallMs;
        return { status: 200, body: { perCallMs: world.perCallMs } };
      case 'POST /_emulator/propagation':
        world.propagationMs = propagationSchema.parse(json(r.body)).delayMs;
        return { status: 200, body: { delayMs: world.propagationMs } };
      case 'POST /_emulator/tokens':
        return tokens(world, tokenSchema.parse(json(r.body)));
      case 'POST /_emulator/credentials':
        return credentials(world, credentialsSchema.parse(json(r.body)));
      case 'GET /_emulator/imds':
        return { status: 200, body: { roleArn: world.imdsRoleArn ?? null } };
      case 'POST /_emulator/imds': {
        const { roleArn } = imdsSchema.parse(json(r.body));
        if (roleArn !== null && !findRoleByArn(world, roleArn))
          return { status: 404, body: { error: `no role ${roleArn}` } };
        world.imdsRoleArn = roleArn ?? undefined;
        return { status: 200, body: { roleArn } };
      }
      default:
        return { status: 404, body: { error: `no admin route ${route}` } };
    }
  } catch (err) {
    if (err instanceof z.ZodError) return { status: 400, body: { error: 'invalid body', issues: err.issues } };
    if (err instanceof SyntaxError) return { status: 400, body: { error: 'body is not JSON' } };
    throw err;
  }
}

function tokens(world: World, t: z.infer<typeof tokenSchema>): AdminResponse {
  const matches = world.clusters.filter(
    (c) =>
      c.name === t.cluster && (!t.accountId || c.accountId === t.accountId) && (!t.region || c.region === t.region),
  );
  if (matches.length !== 1) {
    return {
      status: 404,
      body: {
        error: matches.length ? 'cluster name is ambiguous: give accountId and region' : `no cluster ${t.cluster}`,
      },
    };
  }
  const now = Math.floor(Date.now() / 1000);
  const token = issueToken(world, {
    iss: matches[0].issuer,
    sub: `system:serviceaccount:${t.namespace}:${t.serviceAccount}`,
    aud: [t.audience ?? 'sts.amazonaws.com'],
    iat: now,
    nbf: now,
    exp: now + (t.expiresInSeconds ?? 86_400),
    'kubernetes.io': {
      namespace: t.namespace,
      serviceaccount: { name: t.serviceAccount },
      pod: { name: t.podName ?? `${t.serviceAccount}-0`, uid: t.podUid ?? randomUUID() },
    },
  });
  return { status: 200, body: { token } };
}

/** Extension: credentials for a role as its runtime (e.g. Lambda) would receive them, without a trust check. */
function credentials(world: World, c: z.infer<typeof credentialsSchema>): AdminResponse {
  const role = findRoleByArn(world, c.roleArn);
  if (!role) return { status: 404, body: { error: `no role ${c.roleArn}` } };
  const s = issueSession(world, role, c.sessionName, c.durationSeconds, false);
  return {
    status: 200,
    body: {
      accessKeyId: s.accessKeyId,
      secretAccessKey: 'emulator-secret',
      sessionToken: `emulator-token-${s.accessKeyId}`,
      expiration: new Date(s.expiresAt).toISOString(),
      arn: s.arn,
    },
  };
}

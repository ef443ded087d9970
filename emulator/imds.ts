/**
 * An EC2 instance-metadata stand-in (IMDSv2 only) on its own listener: the SDKs' IMDS clients replace the path of
 * the endpoint they are given, so it cannot share the emulator's root (S3 path-style owns `/<bucket>/…`).
 * It hands out credentials of one instance role, a real STS session of that role, the way an instance profile would.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { authorize } from '../lib/iam-policy/evaluate';
import { livePolicy } from './authz';
import { findRoleByArn, type Role, type Session, type World } from './state';
import { issueSession, sessionSecrets } from './services/sts';

const MAX_TTL_SECONDS = 21_600;
/** instance-profile credentials: valid for 6 hours, refreshed well before they expire */
const CREDENTIAL_SECONDS = 6 * 3600;
const REFRESH_BEFORE_MS = 60 * 60 * 1000;

/** IMDS timestamps have no fractional seconds (botocore parses `%Y-%m-%dT%H:%M:%SZ`). */
const imdsTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The instance id the stand-in reports for a role: stable, so restarts keep session names. */
const instanceIdOf = (roleArn: string): string =>
  `i-${createHash('sha256').update(roleArn).digest('hex').slice(0, 17)}`;

export interface ImdsState {
  tokens: Map<string, number>;
  /** credentials handed out, per role ARN, reused until an hour before they expire */
  sessions: Map<string, Session>;
}

export const newImdsState = (): ImdsState => ({ tokens: new Map(), sessions: new Map() });

/** Whether EC2 may assume the role (its trust policy allows the ec2.amazonaws.com service principal). */
function ec2MayAssume(world: World, role: Role, now: number): boolean {
  if (now < role.visibleAt) return false;
  return authorize({
    principal: { arn: '', accountId: '', service: 'ec2.amazonaws.com' },
    action: 'sts:AssumeRole',
    resource: role.arn,
    resourceAccountId: role.accountId,
    identityPolicies: [],
    resourcePolicy: livePolicy(world, role.trustPolicy, role.trustBindings),
    resourcePolicyRequired: true,
    context: { 'aws:SecureTransport': 'true', 'aws:PrincipalServiceName': 'ec2.amazonaws.com' },
  }).allowed;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers });
  res.end(body);
}

/** Serves one IMDS request against the current world. */
export function handleImds(world: World, state: ImdsState, req: IncomingMessage, res: ServerResponse): void {
  const now = Date.now();
  const path = new URL(req.url ?? '/', 'http://imds').pathname;
  if (path === '/latest/api/token') {
    if (req.method !== 'PUT') return send(res, 405, 'Method Not Allowed');
    // IMDS refuses token requests that went through a proxy
    if (req.headers['x-forwarded-for'] !== undefined) return send(res, 403, 'Forbidden');
    const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
    if (!Number.isInteger(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) return send(res, 400, 'Bad Request');
    const token = randomBytes(42).toString('base64');
    state.tokens.set(token, now + ttl * 1000);
    for (const [t, exp] of state.tokens) if (exp <= now) state.tokens.delete(t);
    return send(res, 200, token, { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method Not Allowed');
  // IMDSv2 only (HttpTokens=required): every read needs a live session token
  const token = req.headers['x-aws-ec2-metadata-token'];
  const exp = typeof token === 'string' ? state.tokens.get(token) : undefined;
  if (exp === undefined || exp <= now) return send(res, 401, 'Unauthorized');

  const role = world.imdsRoleArn ? findRoleByArn(world, world.imdsRoleArn) : undefined;
  const prefix = '/latest/meta-data/iam/security-credentials/';
  if (path === '/latest/meta-data/instance-id') return send(res, 200, instanceIdOf(world.imdsRoleArn ?? 'none'));
  if (path === '/latest/meta-data/iam/info') {
    if (!role) return send(res, 404, 'Not Found');
    const info = {
      Code: 'Success',
      LastUpdated: imdsTime(now),
      InstanceProfileArn: `arn:aws:iam::${role.accountId}:instance-profile${role.path}${role.name}`,
      InstanceProfileId: `AIPA${role.roleId.slice(4)}`,
    };
    return send(res, 200, JSON.stringify(info, null, 2));
  }
  if (path === prefix) return role ? send(res, 200, role.name) : send(res, 404, 'Not Found');
  if (path.startsWith(prefix)) {
    if (!role || decodeURIComponent(path.slice(prefix.length)) !== role.name) return send(res, 404, 'Not Found');
    if (!ec2MayAssume(world, role, now)) {
      // what IMDS shows when the instance profile's role does not trust EC2
      const error = {
        Code: 'AssumeRoleUnauthorizedAccess',
        Message: `EC2 cannot assume the role ${role.name}. Please see documentation at https://docs.aws.amazon.com/IAM/latest/UserGuide/RolesTroubleshooting.html#troubleshoot_roles_cant-assume-role.`,
        LastUpdated: imdsTime(now),
      };
      return send(res, 200, JSON.stringify(error, null, 2));
    }
    let s = state.sessions.get(role.arn);
    if (!s || s.roleId !== role.roleId || s.expiresAt - now < REFRESH_BEFORE_MS || !world.sessions.has(s.accessKeyId)) {
      s = issueSession(world, role, instanceIdOf(role.arn), CREDENTIAL_SECONDS, false);
      state.sessions.set(role.arn, s);
    }
    const creds = {
      Code: 'Success',
      LastUpdated: imdsTime(now),
      Type: 'AWS-HMAC',
      AccessKeyId: s.accessKeyId,
      SecretAccessKey: sessionSecrets(s).secretAccessKey,
      Token: sessionSecrets(s).sessionToken,
      Expiration: imdsTime(s.expiresAt),
    };
    return send(res, 200, JSON.stringify(creds, null, 2));
  }
  return send(res, 404, 'Not Found');
}

import type { CallContext, Caller, ServiceModule } from '../context';
import { requireCaller } from '../context';
import { AwsError, accessDenied } from '../errors';
import { QueryParams, queryError, queryResponse } from '../protocols/query';
import { findRoleByArn, uniqueId, type Role, type Session, type World } from '../state';
import { decide, livePolicy, requestTagContext } from '../authz';
import { authorize } from '../../lib/iam-policy/evaluate';
import { type ContextValue } from '../../lib/iam-policy/conditions';
import { verifyToken } from '../tokens';
import type { XmlNode } from '../xml';

const NS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const CHAINED_MAX_SECONDS = 3600;

export function issueSession(
  world: World,
  role: Role,
  sessionName: string,
  durationSeconds: number,
  chained: boolean,
  tagging: { tags?: Record<string, string>; transitiveTagKeys?: string[] } = {},
): Session {
  const s: Session = {
    accessKeyId: uniqueId('ASIA', 20),
    arn: `arn:aws:sts::${role.accountId}:assumed-role/${role.name}/${sessionName}`,
    accountId: role.accountId,
    roleArn: role.arn,
    roleName: role.name,
    roleId: role.roleId,
    sessionName,
    expiresAt: Date.now() + durationSeconds * 1000,
    chained,
    ...(tagging.tags && Object.keys(tagging.tags).length
      ? { tags: tagging.tags, transitiveTagKeys: tagging.transitiveTagKeys ?? [] }
      : {}),
  };
  world.sessions.set(s.accessKeyId, s);
  return s;
}

/** A session's secret key and token, as every way of handing out credentials (STS, EKS Auth, IMDS) spells them. */
export const sessionSecrets = (s: Session): { secretAccessKey: string; sessionToken: string } => ({
  secretAccessKey: `emulator-secret-${s.accessKeyId.slice(-8)}`,
  sessionToken: `emulator-token-${s.accessKeyId}`,
});

function credentialsXml(s: Session, role: Role): XmlNode {
  const { secretAccessKey, sessionToken } = sessionSecrets(s);
  return {
    Credentials: {
      AccessKeyId: s.accessKeyId,
      SecretAccessKey: secretAccessKey,
      SessionToken: sessionToken,
      Expiration: new Date(s.expiresAt),
    },
    AssumedRoleUser: { AssumedRoleId: `${role.roleId}:${s.sessionName}`, Arn: s.arn },
    PackedPolicySize: 0,
  };
}

function sessionName(p: QueryParams): string {
  const name = p.req('RoleSessionName');
  if (!/^[\w+=,.@-]{2,64}$/.test(name)) {
    throw new AwsError(
      'ValidationError',
      `1 validation error detected: Value '${name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
    );
  }
  return name;
}

function duration(p: QueryParams, role: Role, chained: boolean): number {
  return checkDuration(p.int('DurationSeconds') ?? 3600, role, chained);
}

function checkDuration(d: number, role: Role, chained: boolean): number {
  if (d < 900 || d > 43200) {
    throw new AwsError(
      'ValidationError',
      `1 validation error detected: Value '${d}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900 and less than or equal to 43200`,
    );
  }
  if (chained && d > CHAINED_MAX_SECONDS) {
    throw new AwsError(
      'ValidationError',
      'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
    );
  }
  if (d > role.maxSessionDuration)
    throw new AwsError(
      'ValidationError',
      'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.',
    );
  return d;
}

/**
 * sts:AssumeRole by a role session (role chaining), as AWS authorises it: the caller's identity policies and
 * boundary with the target's trust policy, and `sts:TagSession` as well when session tags are set (passed ones and
 * the caller's transitive ones, which carry over). Used by the STS API and by EKS Pod Identity's target-role hop.
 */
export function assumeRole(
  world: World,
  caller: Caller,
  now: number,
  input: {
    roleArn: string;
    sessionName: string;
    externalId?: string;
    durationSeconds: number;
    tags?: Record<string, string>;
    transitiveTagKeys?: string[];
  },
): { session: Session; role: Role } {
  const denied = (action: string) =>
    accessDenied(`User: ${caller.arn} is not authorized to perform: ${action} on resource: ${input.roleArn}`);
  if (!caller.session) throw accessDenied('Roles may not be assumed by root accounts.');
  const role = findRoleByArn(world, input.roleArn);
  if (!role || now < role.visibleAt) throw denied('sts:AssumeRole');
  // incoming transitive tags persist into the new session (a conflicting new value is not checked here)
  const inherited = caller.session.tags ?? {};
  const transitive = caller.session.transitiveTagKeys ?? [];
  const tags: Record<string, string> = {
    ...Object.fromEntries(transitive.filter((k) => k in inherited).map((k) => [k, inherited[k]])),
    ...input.tags,
  };
  const transitiveTagKeys = [
    ...new Set([...transitive.filter((k) => k in inherited), ...(input.transitiveTagKeys ?? [])]),
  ];
  const keys = Object.keys(tags);
  const context: Record<string, ContextValue> = {
    'sts:ExternalId': input.externalId,
    'sts:RoleSessionName': input.sessionName,
  };
  Object.assign(context, requestTagContext(tags));
  if (keys.length && transitiveTagKeys.length) context['sts:TransitiveTagKeys'] = transitiveTagKeys;
  for (const action of keys.length ? ['sts:AssumeRole', 'sts:TagSession'] : ['sts:AssumeRole']) {
    const decision = decide(world, caller, {
      action,
      resource: role.arn,
      resourceAccountId: role.accountId,
      resourcePolicy: livePolicy(world, role.trustPolicy, role.trustBindings),
      resourcePolicyRequired: true,
      context,
    });
    if (!decision.allowed) throw denied(action);
  }
  const session = issueSession(world, role, input.sessionName, checkDuration(input.durationSeconds, role, true), true, {
    tags,
    transitiveTagKeys,
  });
  return { session, role };
}

const ops: Record<string, (ctx: CallContext, p: QueryParams) => XmlNode> = {
  GetCallerIdentity(ctx) {
    const caller = requireCaller(ctx);
    const userId = caller.session ? `${caller.session.roleId}:${caller.session.sessionName}` : caller.accountId;
    return { UserId: userId, Account: caller.accountId, Arn: caller.arn };
  },

  AssumeRole(ctx, p) {
    const caller = requireCaller(ctx);
    const roleArn = p.req('RoleArn');
    const name = sessionName(p);
    const externalId = p.opt('ExternalId');
    if (externalId !== undefined && !/^[\w+=,.@:/-]{2,1224}$/.test(externalId)) {
      throw new AwsError(
        'ValidationError',
        `1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*`,
      );
    }
    const tags = Object.fromEntries(p.tags().map((t) => [t.Key, t.Value]));
    const { session, role } = assumeRole(ctx.world, caller, ctx.now, {
      roleArn,
      sessionName: name,
      externalId,
      durationSeconds: p.int('DurationSeconds') ?? 3600,
      tags,
      transitiveTagKeys: p.list('TransitiveTagKeys'),
    });
    return credentialsXml(session, role);
  },

  AssumeRoleWithWebIdentity(ctx, p) {
    const roleArn = p.req('RoleArn');
    const name = sessionName(p);
    const token = p.req('WebIdentityToken');
    const claims = verifyToken(ctx.world, token);
    if (!claims)
      throw new AwsError(
        'InvalidIdentityToken',
        'The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.',
      );
    if (claims.exp * 1000 <= ctx.now)
      throw new AwsError(
        'ExpiredTokenException',
        'Token expired: current date/time must be before the expiration date/time.',
      );
    const role = findRoleByArn(ctx.world, roleArn);
    const denied = () => accessDenied('Not authorized to perform sts:AssumeRoleWithWebIdentity');
    if (!role || ctx.now < role.visibleAt) throw denied();
    const issuerKey = claims.iss.replace(/^https:\/\//, '');
    const providerArn = `arn:aws:iam::${role.accountId}:oidc-provider/${issuerKey}`;
    const provider = ctx.world.accounts.get(role.accountId)?.oidcProviders.get(providerArn);
    if (!provider) {
      throw new AwsError('InvalidIdentityToken', `No OpenIDConnect provider found in your account for ${claims.iss}`);
    }
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    const aud = audiences.find((a) => provider.clientIds.includes(a));
    if (!aud) throw new AwsError('InvalidIdentityToken', 'Incorrect token audience');
    const decision = authorize({
      principal: { arn: `${providerArn}`, accountId: role.accountId, federated: providerArn },
      action: 'sts:AssumeRoleWithWebIdentity',
      resource: role.arn,
      resourceAccountId: role.accountId,
      identityPolicies: [],
      resourcePolicy: livePolicy(ctx.world, role.trustPolicy, role.trustBindings),
      resourcePolicyRequired: true,
      context: {
        [`${issuerKey}:sub`]: claims.sub,
        [`${issuerKey}:aud`]: aud,
        [`${issuerKey}:amr`]: undefined,
        'aws:SecureTransport': 'true',
      },
    });
    if (!decision.allowed) throw denied();
    const s = issueSession(ctx.world, role, name, duration(p, role, false), false);
    return {
      ...credentialsXml(s, role),
      SubjectFromWebIdentityToken: claims.sub,
      Audience: aud,
      Provider: providerArn,
    };
  },
};

export const sts: ServiceModule = {
  name: 'sts',
  operationOf: (req) => QueryParams.from(req).action,
  allowsAnonymous: (op) => op === 'AssumeRoleWithWebIdentity',
  handle(ctx) {
    const op = ops[ctx.operation];
    if (!op) throw new AwsError('InvalidAction', `Could not find operation ${ctx.operation} for version 2011-06-15`);
    return queryResponse(NS, ctx.operation, op(ctx, QueryParams.from(ctx.req)), ctx.requestId);
  },
  renderError: (code, message, status, c) => queryError(NS, code, message, status, c.requestId, c.type),
};

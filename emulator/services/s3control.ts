import type { CallContext, Caller, EmulatorRequest, ServiceModule, ServiceResponse } from '../context';
import { requireCaller } from '../context';
import { AwsError, accessDenied } from '../errors';
import { escapeXml, flat, toXml, xmlMap, type XmlNode } from '../xml';
import { accessPointKey, newAccessPoint, type AccessPoint, type World } from '../state';
import { authorizeCall, isRoot, livePolicy } from '../authz';
import { ACCESS_POINTS_PER_REGION, appliedQuota } from '../quotas';
import { bindPrincipals, renderBoundPolicy } from '../principals';
import {
  asArray,
  normalizeStatements,
  parsePolicyText,
  policySize,
  validatePolicy,
} from '../../lib/iam-policy/grammar';
import type { Statement } from '../../lib/iam-policy/types';

/**
 * S3 Control's access points (API version 2018-08-20, REST-XML under `/v20180820/`, account in `x-amz-account-id`).
 * Signed with signing name `s3`, so the server sends every `/v20180820/` request of the `s3` scope here.
 */
export const S3CONTROL_PREFIX = '/v20180820/';
const NS = 'http://awss3control.amazonaws.com/doc/2018-08-20/';
const ACCESS_POINT_POLICY_MAX_BYTES = 20_480;

const NAME = /^[a-z0-9][a-z0-9-]{1,48}[a-z0-9]$/;

function route(req: EmulatorRequest): { name?: string; sub?: string } {
  const m = /^\/v20180820\/accesspoint(?:\/([^/]+))?(?:\/([^/]+))?\/?$/.exec(req.path);
  if (!m) return {};
  return { name: m[1] === undefined ? undefined : decodeURIComponent(m[1]), sub: m[2] };
}

/** `/v20180820/tags/{ResourceArn+}`: the ARN (its segments percent-encoded, the slashes kept) */
const tagsRoute = (req: EmulatorRequest): string | undefined => {
  const m = /^\/v20180820\/tags\/(.+)$/.exec(req.path);
  return m ? decodeURIComponent(m[1] as string) : undefined;
};

function s3controlOperation(req: EmulatorRequest): string {
  if (tagsRoute(req) !== undefined) return req.method === 'GET' ? 'ListTagsForResource' : 'Unknown';
  if (!/^\/v20180820\/accesspoint(\/|$)/.test(req.path)) return 'Unknown';
  const { name, sub } = route(req);
  const m = req.method;
  if (name === undefined) return m === 'GET' ? 'ListAccessPoints' : 'Unknown';
  if (sub === 'policy')
    return (
      { GET: 'GetAccessPointPolicy', PUT: 'PutAccessPointPolicy', DELETE: 'DeleteAccessPointPolicy' }[m] ?? 'Unknown'
    );
  if (sub === undefined)
    return { GET: 'GetAccessPoint', PUT: 'CreateAccessPoint', DELETE: 'DeleteAccessPoint' }[m] ?? 'Unknown';
  return 'Unknown';
}

const unescapeXml = (s: string): string =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCharCode(parseInt(n, 16)))
    .replace(/&amp;/g, '&');

/** The text of the first `<tag>` element of an XML body (unescaped), or undefined. */
const element = (xml: string, tag: string): string | undefined => {
  const m = new RegExp(`<${tag}(?:\\s[^>]*)?>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m ? unescapeXml(m[1] as string) : undefined;
};

const xmlResponse = (root: string, node: XmlNode): ServiceResponse => ({
  status: 200,
  headers: { 'content-type': 'application/xml' },
  body: `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${NS}">${toXml(node)}</${root}>`,
});

const invalidRequest = (m: string) => new AwsError('InvalidRequest', m, 400);
const noSuchAccessPoint = () => new AwsError('NoSuchAccessPoint', 'The specified accesspoint does not exist', 404);

/** The account a request names (`x-amz-account-id`): required, 12 digits. */
function accountOf(req: EmulatorRequest): string {
  const id = req.headers['x-amz-account-id'];
  if (typeof id !== 'string' || id === '')
    throw invalidRequest('Missing required header for this request: x-amz-account-id');
  if (!/^\d{12}$/.test(id)) throw invalidRequest('Account id is not valid');
  return id;
}

export function findAccessPoint(
  world: World,
  accountId: string,
  region: string,
  name: string,
): AccessPoint | undefined {
  return world.accessPoints.get(accessPointKey(accountId, region, name));
}

/**
 * Access point operations are the owner account's (the account in `x-amz-account-id` must be the caller's); its
 * principals need the action on the access point's ARN in their identity policies (boundary applied), or, for the
 * operations on an existing access point, a grant in its policy. The account root may always.
 */
function authorizeControl(
  ctx: CallContext,
  caller: Caller,
  accountId: string,
  action: string,
  resource: string,
  ap?: AccessPoint,
): void {
  if (caller.accountId !== accountId) throw accessDenied('Access Denied');
  if (isRoot(caller)) return;
  authorizeCall(ctx.world, caller, {
    action,
    resource,
    resourceAccountId: accountId,
    resourcePolicy: ap ? livePolicy(ctx.world, ap.policy, ap.policyBindings) : undefined,
    context: ap
      ? {
          's3:DataAccessPointArn': ap.arn,
          's3:DataAccessPointAccount': ap.accountId,
          's3:AccessPointNetworkOrigin': ap.vpcId ? 'VPC' : 'Internet',
        }
      : {},
  });
}

const bool = (v: string | undefined, dflt: boolean): boolean =>
  v === undefined ? dflt : v.trim().toLowerCase() === 'true';

/** Keys whose fixed value in a condition makes a statement with a wildcard principal non-public (S3's rule, simplified). */
const RESTRICTING_KEYS = [
  'aws:principalaccount',
  'aws:principalarn',
  'aws:principalorgid',
  'aws:sourceaccount',
  'aws:sourcearn',
  'aws:sourcevpc',
  'aws:sourcevpce',
  'aws:sourceip',
  'aws:userid',
  's3:dataaccesspointaccount',
  's3:dataaccesspointarn',
];

/** Whether a policy is public as Block Public Access sees it: an Allow to any principal not pinned by a restricting condition. */
function isPublicPolicy(statements: Statement[]): boolean {
  return statements.some((st) => {
    if (st.Effect !== 'Allow') return false;
    const p = st.Principal;
    const wildcard =
      st.NotPrincipal !== undefined || p === '*' || (p !== undefined && asArray(p.AWS).some((v) => v === '*'));
    if (!wildcard) return false;
    const keys = Object.values(st.Condition ?? {}).flatMap((block) => Object.keys(block).map((k) => k.toLowerCase()));
    return !keys.some((k) => RESTRICTING_KEYS.includes(k));
  });
}

const malformed = (m: string) => new AwsError('MalformedPolicy', m, 400);

/** Validates an access point policy as S3 does: grammar, size, `s3:` actions, resources of this access point, principals that exist. */
function checkAccessPointPolicy(world: World, ap: AccessPoint, text: string, now: number): Map<string, string> {
  if (!text.trimStart().startsWith('{')) throw malformed("Policies must be valid JSON and the first byte must be '{'");
  const parsed = parsePolicyText(text);
  if (!parsed.doc) throw malformed(parsed.error ?? "Policies must be valid JSON and the first byte must be '{'");
  const problem = validatePolicy(parsed.doc, 'bucket');
  if (problem) throw malformed(problem.startsWith('Invalid principal') ? 'Invalid principal in policy' : problem);
  if (policySize(text) > ACCESS_POINT_POLICY_MAX_BYTES)
    throw new AwsError('PolicyTooLarge', 'Policy exceeds the maximum allowed document size.', 400);
  const statements = normalizeStatements(parsed.doc);
  for (const st of statements) {
    for (const a of asArray(st.Action ?? st.NotAction ?? [])) {
      if (a !== '*' && !/^s3:[A-Za-z*?]+$/i.test(String(a))) throw malformed('Policy has invalid action');
    }
    for (const r of asArray(st.Resource ?? st.NotResource ?? [])) {
      const arn = String(r);
      if (arn !== ap.arn && !arn.startsWith(`${ap.arn}/object/`)) throw malformed('Policy has invalid resource');
    }
  }
  const bindings = bindPrincipals(world, text, now, malformed);
  if (ap.publicAccessBlock.BlockPublicPolicy && isPublicPolicy(statements)) throw accessDenied('Access Denied');
  return bindings;
}

function summary(ap: AccessPoint): XmlNode {
  return {
    Name: ap.name,
    NetworkOrigin: ap.vpcId ? 'VPC' : 'Internet',
    VpcConfiguration: ap.vpcId ? { VpcId: ap.vpcId } : undefined,
    Bucket: ap.bucket,
    AccessPointArn: ap.arn,
    Alias: ap.alias,
    BucketAccountId: ap.bucketAccountId,
  };
}

function handle(ctx: CallContext): ServiceResponse {
  const caller = requireCaller(ctx);
  const { world, req } = ctx;
  const region = req.region;
  const accountId = accountOf(req);
  const { name } = route(req);
  const arnOf = (n: string) => `arn:aws:s3:${region}:${accountId}:accesspoint/${n}`;
  const existing = (): AccessPoint => {
    const ap = findAccessPoint(world, accountId, region, name!);
    if (!ap) throw noSuchAccessPoint();
    return ap;
  };
  switch (ctx.operation) {
    case 'CreateAccessPoint': {
      authorizeControl(ctx, caller, accountId, 's3:CreateAccessPoint', arnOf(name!));
      if (!NAME.test(name!) || name!.endsWith('-s3alias')) {
        throw invalidRequest(
          'Access point name must be 3-50 characters of lower-case letters, numbers and hyphens, start and end with a letter or number, and not end with -s3alias',
        );
      }
      const body = req.body.toString('utf8');
      const bucketName = element(body, 'Bucket');
      if (!bucketName) throw invalidRequest('Bucket is required');
      if (findAccessPoint(world, accountId, region, name!)) {
        throw new AwsError(
          'AccessPointAlreadyOwnedByYou',
          'Your previous request to create the named accesspoint succeeded and you already own it.',
          409,
        );
      }
      const bucket = world.buckets.get(bucketName);
      const bucketAccountId = element(body, 'BucketAccountId') ?? accountId;
      // the bucket must exist in this Region and belong to the account the request names (this account unless BucketAccountId says another)
      if (!bucket || bucket.region !== region)
        throw Object.assign(new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404), { bucketName });
      if (bucket.accountId !== bucketAccountId) throw accessDenied('Access Denied');
      const count = [...world.accessPoints.values()].filter(
        (a) => a.accountId === accountId && a.region === region,
      ).length;
      // Service Quotas s3 "Access Points" (emulator/quotas.ts): the account's value, the same in every Region
      if (count >= appliedQuota(world.accounts.get(accountId)!, ACCESS_POINTS_PER_REGION))
        throw new AwsError(
          'TooManyAccessPoints',
          'You have attempted to create more access points than are allowed for an account in this Region.',
          400,
        );
      const tags = new Map<string, string>();
      for (const m of (element(body, 'Tags') ?? '').matchAll(/<Tag>([\s\S]*?)<\/Tag>/g)) {
        const key = element(m[1] as string, 'Key');
        if (key === undefined || key === '' || key.length > 128)
          throw invalidRequest('Tag keys must be 1-128 characters');
        const value = element(m[1] as string, 'Value') ?? '';
        if (value.length > 256) throw invalidRequest('Tag values must be at most 256 characters');
        tags.set(key, value);
      }
      if (tags.size > 50) throw invalidRequest('An access point takes at most 50 tags');
      const pab = element(body, 'PublicAccessBlockConfiguration');
      const vpcId = element(element(body, 'VpcConfiguration') ?? '', 'VpcId');
      const ap = newAccessPoint({
        name: name!,
        accountId,
        region,
        bucket: bucket.name,
        bucketAccountId: bucket.accountId,
        createDate: new Date(ctx.now),
        vpcId,
        tags,
        publicAccessBlock:
          pab === undefined
            ? undefined
            : {
                BlockPublicAcls: bool(element(pab, 'BlockPublicAcls'), false),
                IgnorePublicAcls: bool(element(pab, 'IgnorePublicAcls'), false),
                BlockPublicPolicy: bool(element(pab, 'BlockPublicPolicy'), false),
                RestrictPublicBuckets: bool(element(pab, 'RestrictPublicBuckets'), false),
              },
      });
      world.accessPoints.set(accessPointKey(accountId, region, ap.name), ap);
      return xmlResponse('CreateAccessPointResult', { AccessPointArn: ap.arn, Alias: ap.alias });
    }
    case 'GetAccessPoint': {
      authorizeControl(
        ctx,
        caller,
        accountId,
        's3:GetAccessPoint',
        arnOf(name!),
        findAccessPoint(world, accountId, region, name!),
      );
      const ap = existing();
      return xmlResponse('GetAccessPointResult', {
        Name: ap.name,
        Bucket: ap.bucket,
        NetworkOrigin: ap.vpcId ? 'VPC' : 'Internet',
        VpcConfiguration: ap.vpcId ? { VpcId: ap.vpcId } : undefined,
        PublicAccessBlockConfiguration: ap.publicAccessBlock,
        CreationDate: ap.createDate,
        Alias: ap.alias,
        AccessPointArn: ap.arn,
        Endpoints: xmlMap({
          ipv4: `s3-accesspoint.${ap.region}.amazonaws.com`,
          fips: `s3-accesspoint-fips.${ap.region}.amazonaws.com`,
          fips_dualstack: `s3-accesspoint-fips.dualstack.${ap.region}.amazonaws.com`,
          dualstack: `s3-accesspoint.dualstack.${ap.region}.amazonaws.com`,
        }),
        BucketAccountId: ap.bucketAccountId,
      });
    }
    case 'DeleteAccessPoint': {
      authorizeControl(
        ctx,
        caller,
        accountId,
        's3:DeleteAccessPoint',
        arnOf(name!),
        findAccessPoint(world, accountId, region, name!),
      );
      const ap = existing();
      world.accessPoints.delete(accessPointKey(ap.accountId, ap.region, ap.name));
      return { status: 204 };
    }
    case 'ListAccessPoints': {
      authorizeControl(ctx, caller, accountId, 's3:ListAccessPoints', '*');
      const bucketFilter = req.query.get('bucket') ?? undefined;
      const maxRaw = req.query.get('maxResults');
      const max = maxRaw === null ? 1000 : Number(maxRaw);
      if (!Number.isInteger(max) || max < 0 || max > 1000)
        throw invalidRequest('maxResults must be between 0 and 1000');
      const all = [...world.accessPoints.values()]
        .filter(
          (a) =>
            a.accountId === accountId &&
            a.region === region &&
            (bucketFilter === undefined || a.bucket === bucketFilter),
        )
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const token = req.query.get('nextToken');
      let start = 0;
      if (token) {
        const after = Buffer.from(token, 'base64url').toString('utf8');
        start = all.findIndex((a) => a.name > after);
        if (start < 0) start = all.length;
      }
      const size = max === 0 ? 1000 : max;
      const page = all.slice(start, start + size);
      const more = start + size < all.length;
      return xmlResponse('ListAccessPointsResult', {
        AccessPointList: { AccessPoint: flat(page.map(summary)) },
        NextToken: more ? Buffer.from(page[page.length - 1]!.name).toString('base64url') : undefined,
      });
    }
    case 'PutAccessPointPolicy': {
      authorizeControl(
        ctx,
        caller,
        accountId,
        's3:PutAccessPointPolicy',
        arnOf(name!),
        findAccessPoint(world, accountId, region, name!),
      );
      const ap = existing();
      const text = element(req.body.toString('utf8'), 'Policy');
      if (text === undefined)
        throw new AwsError(
          'MalformedXML',
          'The XML you provided was not well-formed or did not validate against our published schema',
          400,
        );
      ap.policyBindings = checkAccessPointPolicy(world, ap, text, ctx.now);
      ap.policy = text;
      return { status: 200 };
    }
    case 'GetAccessPointPolicy': {
      authorizeControl(
        ctx,
        caller,
        accountId,
        's3:GetAccessPointPolicy',
        arnOf(name!),
        findAccessPoint(world, accountId, region, name!),
      );
      const ap = existing();
      if (!ap.policy)
        throw new AwsError('NoSuchAccessPointPolicy', 'The specified accesspoint policy does not exist', 404);
      return xmlResponse('GetAccessPointPolicyResult', {
        Policy: renderBoundPolicy(world, ap.policy, ap.policyBindings),
      });
    }
    case 'DeleteAccessPointPolicy': {
      authorizeControl(
        ctx,
        caller,
        accountId,
        's3:DeleteAccessPointPolicy',
        arnOf(name!),
        findAccessPoint(world, accountId, region, name!),
      );
      const ap = existing();
      ap.policy = undefined;
      ap.policyBindings = undefined;
      return { status: 204 };
    }
    case 'ListTagsForResource': {
      // access points only (buckets' tags are read with S3's GetBucketTagging here)
      const arn = tagsRoute(req)!;
      const m = /^arn:aws:s3:([a-z0-9-]+):(\d{12}):accesspoint\/([^/]+)$/.exec(arn);
      if (!m) throw invalidRequest(`The emulator lists the tags of access points only, not of ${arn}`);
      if (m[2] !== accountId) throw accessDenied('Access Denied');
      const ap = findAccessPoint(world, accountId, m[1] as string, m[3] as string);
      authorizeControl(ctx, caller, accountId, 's3:ListTagsForResource', arn, ap);
      if (!ap) throw noSuchAccessPoint();
      return xmlResponse('ListTagsForResourceResult', {
        Tags: { Tag: flat([...ap.tags].map(([Key, Value]) => ({ Key, Value }))) },
      });
    }
    default:
      throw new AwsError('NotImplemented', `The emulator does not implement S3 Control ${req.method} ${req.path}`, 501);
  }
}

export const s3control: ServiceModule = {
  name: 's3control',
  operationOf: s3controlOperation,
  handle,
  renderError(code, message, status, c) {
    return {
      status,
      headers: { 'content-type': 'application/xml' },
      body: `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${c.requestId}</RequestId><HostId>${c.requestId}</HostId></ErrorResponse>`,
    };
  },
};

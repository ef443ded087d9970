import type { ProvisionerSessions } from '../../aws/session';
import * as s3cApi from '../../aws/s3control';
import { accessPointArn, accessPointNames, ownsAccessPoint } from '../../policy/access-points';
import type { PolicyDocument } from '../../policy/types';
import type { TagList } from '../model/desired';

/**
 * What S3 Control holds for a grant in access-point mode: the access points of the names its derivation gives
 * (lib/policy/access-points.ts `accessPointNames`), read one after the other until one is free or the grant's own
 * (a name someone else holds is skipped: it is never read further, changed or deleted), and the ones its record
 * names. An access point is the grant's by its tags (`managed-by` and `s3-onboarding/onboarding`), never by its
 * name alone.
 */

interface ObservedAccessPoint {
  name: string;
  arn: string;
  alias: string;
  bucket: string;
  tags: TagList;
  /** the grant's own: its tags say so */
  own: boolean;
  /** its policy (own access points only) */
  policy?: PolicyDocument;
}

export interface ObservedAccessPoints {
  accountId: string;
  region: string;
  /** each name read: its access point, or null when the account has none of that name in the Region */
  byName: Map<string, ObservedAccessPoint | null>;
}

export interface AccessPointRead {
  accountId: string;
  region: string;
  onboardingId: string;
  managedBy: string;
  /** names the record says the grant made (or set out to make): read whatever the derivation gives (pending: once
   * the store says, while the derivation is read) */
  recorded: string[] | Promise<string[]>;
  /** walk the derivation to the grant's own access point or a free name (false: only the recorded names) */
  derive: boolean;
}

async function readOne(
  sessions: ProvisionerSessions,
  req: AccessPointRead,
  name: string,
  /** the record names it: it most likely exists, so its tags and policy are read beside it */
  expected: boolean,
): Promise<ObservedAccessPoint | null> {
  const s3c = sessions.s3control(req.accountId, req.region);
  const arn = accessPointArn(req.region, req.accountId, name);
  // an access point the record names: it, its tags and its policy side by side (one level of reads, not three; the
  // ARN follows from the name); a name the derivation gives a new grant is most likely free: it alone first
  const extras = () =>
    Promise.all([
      s3cApi.accessPointTags(s3c, req.accountId, arn),
      s3cApi.getAccessPointPolicy(s3c, req.accountId, name),
    ]);
  const early = expected ? extras() : undefined;
  early?.catch(() => undefined);
  const ap = await s3cApi.getAccessPoint(s3c, req.accountId, name);
  if (!ap) {
    await early?.catch(() => undefined);
    return null;
  }
  const [tagsRead, policyRead] = await (early ?? extras());
  const tags = tagsRead ?? [];
  const own = ownsAccessPoint(tags, req.managedBy, req.onboardingId);
  // someone else's access point: its name and tags are all the service keeps of it
  const policy = own ? policyRead : undefined;
  return { name, arn: ap.arn, alias: ap.alias, bucket: ap.bucket, tags, own, ...(policy ? { policy } : {}) };
}

export async function observeAccessPoints(
  sessions: ProvisionerSessions,
  req: AccessPointRead,
): Promise<ObservedAccessPoints> {
  const byName = new Map<string, ObservedAccessPoint | null>();
  const reads = new Map<string, Promise<ObservedAccessPoint | null>>();
  const read = (name: string, expected = false) => {
    let p = reads.get(name);
    if (!p) reads.set(name, (p = readOne(sessions, req, name, expected)));
    return p.then((ap) => (byName.set(name, ap), ap));
  };
  // the derivation and the recorded names side by side: a new grant's first name is read at once
  const derived = async () => {
    if (!req.derive) return;
    for (const name of accessPointNames(req.onboardingId)) {
      const ap = await read(name);
      if (!ap || ap.own) break;
    }
  };
  await Promise.all([
    derived(),
    Promise.resolve(req.recorded).then((names) => Promise.all([...new Set(names)].map((n) => read(n, true)))),
  ]);
  return { accountId: req.accountId, region: req.region, byName };
}

/**
 * What to read of S3 Control for a grant: in access-point mode its derivation (and the access point its record
 * names); otherwise only an access point its record names (a DELETE, a move to another mode). None: neither.
 */
export function accessPointRead(
  managedBy: string,
  onboardingId: string,
  want: { accountId: string; region: string } | undefined,
  written: { accountId: string; region: string; name: string } | undefined,
  /** what the store will say the record names (a grant in access-point mode whose record is still being read) */
  writtenLater?: Promise<{ name: string } | undefined>,
): AccessPointRead | undefined {
  const where = want ?? written;
  if (!where) return undefined;
  return {
    accountId: where.accountId,
    region: where.region,
    onboardingId,
    managedBy,
    recorded: writtenLater
      ? writtenLater.then((w) => [...(written ? [written.name] : []), ...(w ? [w.name] : [])])
      : written
        ? [written.name]
        : [],
    derive: !!want,
  };
}

import { eventsOf } from '../../../lib/events/onboarding-events';
import type { OnboardingRecord } from '../../../lib/onboarding/model/records';

const base: OnboardingRecord = {
  schema: 2,
  id: 'ob-0123456789ab',
  version: 1,
  status: 'provisioning',
  request: {
    workload: {
      type: 'eks',
      clusters: [{ name: 'demo', accountId: '200000000002', region: 'eu-west-1' }],
      namespace: 'mongodb',
      serviceAccounts: ['pbm'],
      identity: 'irsa',
    },
    bucket: { name: 'b', accountId: '300000000003', region: 'eu-west-1', prefix: 'p/' },
    tool: 'pbm',
    access: 'read-write',
    tags: { ticket: 'OPS-1' },
  } as unknown as OnboardingRecord['request'],
  identityKey: 'irsa:200000000002:demo:mongodb:pbm',
  roleArn: 'arn:aws:iam::200000000002:role/s3-onboarding/s3ob-x',
  live: {},
  attempt: { stepsPlanned: [], stepsDone: [] },
  createdAt: '2026-12-06T00:00:00.000Z',
  updatedAt: '2026-12-06T00:00:00.000Z',
  requestedBy: 'arn:aws:iam::100000000001:role/platform-admin',
};
const change = { action: 'create-role', accountId: '200000000002', resource: 'role/s3ob-x' };
const result = (changes = [change]) =>
  ({ id: base.id, status: 'provisioned', roleArn: base.roleArn, changes }) as unknown as OnboardingRecord['result'];
const desired = (resource = 'p/*') =>
  ({
    policyName: 'x',
    permissions: {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: resource }],
    },
  }) as unknown as OnboardingRecord['desired'];
const at = (r: Partial<OnboardingRecord>, version: number): OnboardingRecord => ({
  ...base,
  ...r,
  version,
  updatedAt: `2026-12-06T00:00:0${version}.000Z`,
});

const provisioning = at({}, 1);
const provisioned = at({ status: 'provisioned', desired: desired(), result: result(), attempt: undefined }, 2);

describe('Function: eventsOf', () => {
  it('a first full apply is Onboarding Provisioned, with a stable eventId, the tags and the changes', () => {
    const [e, ...rest] = eventsOf(provisioning, provisioned);
    expect(rest).toEqual([]);
    expect(e).toEqual({
      detailType: 'Onboarding Provisioned',
      detail: {
        eventId: 'ob-0123456789ab:2:provisioned',
        id: base.id,
        version: 2,
        status: 'provisioned',
        roleArn: base.roleArn,
        requestedBy: base.requestedBy,
        bucket: { name: 'b', accountId: '300000000003', region: 'eu-west-1' },
        prefix: 'p/',
        tool: 'pbm',
        tags: { ticket: 'OPS-1' },
        changes: [change],
        time: '2026-12-06T00:00:02.000Z',
      },
    });
    // the same change delivered again: the same event
    expect(eventsOf(provisioning, provisioned)).toEqual([e]);
  });

  it('nothing for an intent, a progress save, a repeat that records who asked, or a rollback', () => {
    expect(eventsOf(undefined, provisioning)).toEqual([]);
    expect(eventsOf(provisioning, at({ live: { permissions: desired()!.permissions } }, 2))).toEqual([]);
    expect(
      eventsOf(provisioned, at({ ...provisioned, requestedBy: 'arn:aws:iam::100000000001:role/other' }, 3)),
    ).toEqual([]);
    // an update's intent keeps the previous result; refused before any write, the previous record is put back
    const intent = at({ ...provisioned, status: 'provisioning', attempt: { stepsPlanned: [], stepsDone: [] } }, 3);
    expect(eventsOf(provisioned, intent)).toEqual([]);
    expect(eventsOf(intent, at({ ...provisioned }, 4))).toEqual([]);
    // a refused first attempt: its record is deleted
    expect(eventsOf(provisioning, undefined)).toEqual([]);
  });

  it('a later full apply is Onboarding Updated; so is a save of a provisioned record that changes what is live', () => {
    const intent = at({ ...provisioned, status: 'provisioning', attempt: { stepsPlanned: [], stepsDone: [] } }, 3);
    const changed = at(
      { ...provisioned, desired: desired('q/*'), result: result([{ ...change, action: 'put-role-policy' }]) },
      4,
    );
    expect(eventsOf(intent, changed).map((e) => [e.detailType, e.detail.eventId])).toEqual([
      ['Onboarding Updated', 'ob-0123456789ab:4:updated'],
    ]);
    const retagged = at({ ...provisioned, request: { ...provisioned.request, tags: { ticket: 'OPS-2' } } }, 3);
    expect(eventsOf(provisioned, retagged).map((e) => [e.detailType, e.detail.tags])).toEqual([
      ['Onboarding Updated', { ticket: 'OPS-2' }],
    ]);
  });

  it('Onboarding Failed once per failed attempt, with what it did and why', () => {
    const failed = at(
      { status: 'failed', attempt: { stepsPlanned: [change], stepsDone: [change], error: 'AWS throttled' } },
      2,
    );
    expect(eventsOf(provisioning, failed)).toEqual([
      expect.objectContaining({
        detailType: 'Onboarding Failed',
        detail: expect.objectContaining({ error: 'AWS throttled', changes: [change], status: 'failed' }),
      }),
    ]);
    // a removal that starts from it keeps the error: no second event
    expect(eventsOf(failed, at({ ...failed, status: 'deleting' }, 3))).toEqual([]);
  });

  it('Onboarding Removed when the record becomes a tombstone, with the removal steps; never for its expiry', () => {
    const deleting = at(
      {
        ...provisioned,
        status: 'deleting',
        attempt: { stepsPlanned: [{ ...change, action: 'delete-role' }], stepsDone: [] },
      },
      3,
    );
    const deleted = at({ ...deleting, status: 'deleted', attempt: undefined }, 4);
    expect(eventsOf(deleting, deleted).map((e) => [e.detailType, e.detail.changes])).toEqual([
      ['Onboarding Removed', [{ ...change, action: 'delete-role' }]],
    ]);
    expect(eventsOf(deleted, undefined)).toEqual([]);
    expect(eventsOf(deleted, at({ ...deleted }, 5))).toEqual([]);
  });

  it('drift events only when drift appears or clears', () => {
    const drift = (ok: boolean, checkedAt: string) => ({ ok, checkedAt, failing: ok ? [] : ['permissions-policy'] });
    const found = { ...provisioned, drift: drift(false, '2026-12-06T01:00:00.000Z') };
    const detected = eventsOf(provisioned, found);
    expect(detected.map((e) => [e.detailType, e.detail.failing, e.detail.eventId, e.detail.time])).toEqual([
      [
        'Onboarding Drift Detected',
        ['permissions-policy'],
        'ob-0123456789ab:2:drift-detected:2026-12-06T01:00:00.000Z',
        '2026-12-06T01:00:00.000Z',
      ],
    ]);
    expect(eventsOf(found, { ...found, drift: drift(false, '2026-12-06T02:00:00.000Z') })).toEqual([]);
    const cleared = eventsOf(found, { ...found, drift: drift(true, '2026-12-06T03:00:00.000Z') });
    expect(cleared.map((e) => [e.detailType, e.detail.failing])).toEqual([['Onboarding Drift Resolved', []]]);
    expect(eventsOf({ ...provisioned, drift: drift(true, 'x') }, { ...provisioned, drift: drift(true, 'y') })).toEqual(
      [],
    );
    // the first finding being "in place" is no event
    expect(eventsOf(provisioned, { ...provisioned, drift: drift(true, 'y') })).toEqual([]);
  });
});

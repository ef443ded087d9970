import path from 'node:path';
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { DeleteRolePolicyCommand, GetRolePolicyCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { BACKUPS, WORKLOADS, rootCredentials } from '../../helpers/emulator';
import { clients, useTestStack, type TestStack } from '../../helpers/stack';
import { grantPolicyName } from '../../../lib/onboarding/model/onboarding';

// each test drives whole onboardings (and sweeps) over the local stack: on a loaded 2-core machine they take seconds
jest.setTimeout(60_000);

/**
 * Events over the local stack: the API writes its records in the local DynamoDB, the table's change stream (the
 * local stand-in for DynamoDB Streams) feeds handlers/stream.ts, which puts them on the emulator's EventBridge with
 * the API role's credentials. Every event is validated against events.schema.json.
 */
let t: TestStack;
useTestStack((s) => (t = s), { resetEach: true, streams: true });

// strict, except that a conditional branch may require a property the detail defines once (definitions.detail)
const ajv = new Ajv({ strict: true, strictRequired: false, allErrors: true });
addFormats(ajv);
const validate = ajv.compile(JSON.parse(readFileSync(path.resolve(__dirname, '../../../events.schema.json'), 'utf8')));

interface EmulatorEvent {
  id: string;
  time: string;
  eventBusName: string;
  account: string;
  region: string;
  source: string;
  detailType: string;
  resources: string[];
  detail: Record<string, any>;
}

async function events(): Promise<EmulatorEvent[]> {
  await t.stack.streams!.drained();
  return (await (await fetch(`${t.stack.emulator.url}/_emulator/events`)).json()) as EmulatorEvent[];
}

/** The events since the last call, each validated against the schema as a rule target receives it. */
let seen = 0;
beforeEach(() => {
  seen = 0;
});
async function newEvents(): Promise<EmulatorEvent[]> {
  const all = await events();
  const fresh = all.slice(seen);
  seen = all.length;
  for (const e of fresh) {
    const envelope = {
      version: '0',
      id: e.id,
      'detail-type': e.detailType,
      source: e.source,
      account: e.account,
      time: e.time,
      region: e.region,
      resources: e.resources,
      detail: e.detail,
    };
    if (!validate(envelope))
      throw new Error(
        `event does not validate: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(envelope, null, 2)}`,
      );
  }
  return fresh;
}

const request = (prefix = 'events/', extra: Record<string, unknown> = {}) => ({
  workload: {
    type: 'eks',
    clusters: [{ name: 'demo', accountId: WORKLOADS, region: 'eu-west-1' }],
    namespace: 'mongodb',
    serviceAccounts: ['pbm-agent'],
  },
  bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix },
  tool: 'pbm',
  tags: { ticket: 'OPS-1234' },
  ...extra,
});

const sweep = async () =>
  (await t.api.send<{ checked: number; drifted: number; durationMs: number }>('POST', '/_local/sweep')).body;

describe('events: every change of an onboarding is one EventBridge event', () => {
  it('provision, repeat, update, remove: exactly one event per change, none for a repeat', async () => {
    const created = await t.api.onboard(request());
    expect(created.status).toBe(201);
    const [provisioned, ...more] = await newEvents();
    expect(more).toEqual([]);
    expect(provisioned).toMatchObject({
      eventBusName: 'default',
      account: '100000000001',
      region: 'eu-west-1',
      source: 's3-onboarding',
      detailType: 'Onboarding Provisioned',
      resources: [created.body.roleArn],
    });
    expect(provisioned.detail).toMatchObject({
      id: created.body.id,
      status: 'provisioned',
      roleArn: created.body.roleArn,
      requestedBy: 'arn:aws:iam::100000000001:role/platform-admin',
      bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1' },
      prefix: 'events/',
      tool: 'pbm',
      tags: { ticket: 'OPS-1234' },
      changes: created.body.changes,
    });
    expect(provisioned.detail.eventId).toBe(`${created.body.id}:${provisioned.detail.version}:provisioned`);

    // a repeat that changes nothing publishes nothing
    expect((await t.api.onboard(request())).status).toBe(200);
    expect(await newEvents()).toEqual([]);

    // another access level: one Updated event with what it changed
    const updated = await t.api.onboard(request('events/', { access: 'restore' }));
    expect(updated.status).toBe(201);
    const upd = await newEvents();
    expect(upd.map((e) => e.detailType)).toEqual(['Onboarding Updated']);
    expect(upd[0].detail.changes).toEqual(updated.body.changes);
    expect(upd[0].detail.changes.length).toBeGreaterThan(0);

    // removed once; a repeated DELETE publishes nothing
    expect((await t.api.send('DELETE', `/v1/onboardings/${created.body.id}`)).status).toBe(200);
    const removed = await newEvents();
    expect(removed.map((e) => e.detailType)).toEqual(['Onboarding Removed']);
    expect(removed[0].detail).toMatchObject({ id: created.body.id, status: 'deleted', tags: { ticket: 'OPS-1234' } });
    expect(removed[0].detail.changes.map((c: { action: string }) => c.action)).toContain('delete-role');
    expect((await t.api.send('DELETE', `/v1/onboardings/${created.body.id}`)).status).toBe(200);
    expect(await newEvents()).toEqual([]);
  });

  it('a refused request (nothing written) publishes nothing; a partial apply publishes Onboarding Failed, and its retry Onboarding Provisioned', async () => {
    expect(
      (
        await t.api.onboard({
          ...request(),
          bucket: { name: 'demo-backups', accountId: BACKUPS, region: 'eu-west-1', prefix: '../x' },
        })
      ).status,
    ).toBe(400);
    await t.admin.fault({
      service: 'iam',
      operation: 'PutRolePolicy',
      errorCode: 'Throttling',
      httpStatus: 400,
      count: 100,
    });
    const partial = await t.api.onboard(request('failing/'));
    await t.admin.clearFaults();
    expect(partial.status).toBe(503);
    const failed = await newEvents();
    expect(failed.map((e) => e.detailType)).toEqual(['Onboarding Failed']);
    expect(failed[0].detail).toMatchObject({ status: 'failed', prefix: 'failing/' });
    expect(failed[0].detail.error).toMatch(/Throttl|throttl|AWS/);
    expect(failed[0].detail.changes.map((c: { action: string }) => c.action)).toContain('create-role');

    expect((await t.api.onboard(request('failing/'))).status).toBe(201);
    expect((await newEvents()).map((e) => e.detailType)).toEqual(['Onboarding Provisioned']);
  });

  it('a publish that fails is retried by the stream; the API answers as it would without events', async () => {
    // EventBridge fails every call for a while (each SDK attempt counts): the API's answer does not wait for it
    await t.admin.fault({
      service: 'events',
      operation: 'PutEvents',
      errorCode: 'InternalFailure',
      httpStatus: 500,
      count: 7,
    });
    const created = await t.api.onboard(request('retried/'));
    expect(created.status).toBe(201);
    const published = await newEvents();
    expect(published.map((e) => e.detailType)).toEqual(['Onboarding Provisioned']);
    expect(published[0].detail.id).toBe(created.body.id);
    const putEvents = (await t.admin.calls()).filter((c) => c.service === 'events');
    expect(putEvents.filter((c) => c.errorCode === 'InternalFailure')).toHaveLength(7);
    expect(putEvents.at(-1)).toMatchObject({
      operation: 'PutEvents',
      status: 200,
      principalArn: expect.stringContaining(':assumed-role/s3-onboarding-api/'),
    });
  });

  it('the drift sweep finds drift and its repair with one event each, and ?drift=true lists what drifted', async () => {
    const created = await t.api.onboard(request('drift/'));
    await newEvents();
    expect(await sweep()).toMatchObject({ checked: 1, drifted: 0 });
    expect(await newEvents()).toEqual([]);
    expect((await t.api.send('GET', '/v1/onboardings?drift=true')).body.items).toEqual([]);

    // the grant's policy is deleted by hand
    const iam = clients(t.stack, rootCredentials(WORKLOADS)).iam;
    const roleName = created.body.roleArn.split('/').pop();
    const policy = await iam.send(
      new GetRolePolicyCommand({ RoleName: roleName, PolicyName: grantPolicyName(created.body.id) }),
    );
    await iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: grantPolicyName(created.body.id) }));
    await t.admin.clearCalls();
    expect(await sweep()).toMatchObject({ checked: 1, drifted: 1 });
    // the sweep only reads AWS
    expect((await t.admin.calls()).filter((c) => c.write)).toEqual([]);
    const detected = await newEvents();
    expect(detected.map((e) => e.detailType)).toEqual(['Onboarding Drift Detected']);
    expect(detected[0].detail.failing).toContain('permissions-policy');
    const listed = (await t.api.send('GET', '/v1/onboardings?drift=true')).body.items;
    expect(listed.map((i: { id: string }) => i.id)).toEqual([created.body.id]);
    expect(listed[0].drift).toMatchObject({ ok: false, failing: expect.arrayContaining(['permissions-policy']) });
    expect((await t.api.send('GET', '/v1/onboardings?drift=false')).body.items).toEqual([]);

    // still drifting: no new event
    expect(await sweep()).toMatchObject({ checked: 1, drifted: 1 });
    expect(await newEvents()).toEqual([]);

    // put back by hand: one Drift Resolved
    await iam.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: grantPolicyName(created.body.id),
        PolicyDocument: decodeURIComponent(policy.PolicyDocument!),
      }),
    );
    expect(await sweep()).toMatchObject({ checked: 1, drifted: 0 });
    expect((await newEvents()).map((e) => e.detailType)).toEqual(['Onboarding Drift Resolved']);
    expect((await t.api.send('GET', '/v1/onboardings?drift=true')).body.items).toEqual([]);
  });

  it.each(['yes', '', 'TRUE'])('?drift=%j is a 400 naming the field', async (value) => {
    const res = await t.api.send('GET', `/v1/onboardings?drift=${value}`);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'drift' })]);
  });
});

describe('emulator: EventBridge PutEvents', () => {
  const eb = (credentials = rootCredentials(WORKLOADS)) =>
    new EventBridgeClient({ endpoint: t.stack.emulator.url, region: 'eu-west-1', credentials, maxAttempts: 1 });

  it("answers per entry in AWS's shape and lists what it accepted, emptied on reset", async () => {
    const out = await eb().send(
      new PutEventsCommand({
        Entries: [
          { Source: 'ticketing', DetailType: 'Ticket', Detail: JSON.stringify({ ticket: 'OPS-1' }) },
          { Source: 'ticketing', DetailType: 'Ticket', Detail: 'not json' },
          { Source: 'ticketing', Detail: '{}' },
          { Source: 'aws.s3', DetailType: 'x', Detail: '{}' },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(3);
    expect(out.Entries![0].EventId).toEqual(expect.any(String));
    expect(out.Entries!.slice(1).map((e) => e.ErrorCode)).toEqual([
      'MalformedDetail',
      'InvalidArgument',
      'NotAuthorizedForSourceException',
    ]);
    const listed = await events();
    expect(listed).toEqual([
      expect.objectContaining({
        eventBusName: 'default',
        account: WORKLOADS,
        source: 'ticketing',
        detailType: 'Ticket',
        detail: { ticket: 'OPS-1' },
      }),
    ]);
    await t.admin.reset();
    expect(await events()).toEqual([]);
  });

  it('authorises events:PutEvents on the bus ARN: a role without it is denied; more than 10 entries is a ValidationException', async () => {
    // the provisioner role may not publish events
    const creds = await t.admin.roleCredentials(`arn:aws:iam::${WORKLOADS}:role/s3-onboarding-provisioner`);
    const denied = await eb(creds)
      .send(new PutEventsCommand({ Entries: [{ Source: 'x', DetailType: 'y', Detail: '{}' }] }))
      .catch((e: Error) => e);
    expect(denied).toMatchObject({
      name: 'AccessDeniedException',
      message: expect.stringContaining(
        `events:PutEvents on resource: arn:aws:events:eu-west-1:${WORKLOADS}:event-bus/default`,
      ),
    });
    const tooMany = await eb()
      .send(
        new PutEventsCommand({
          Entries: Array.from({ length: 11 }, () => ({ Source: 'x', DetailType: 'y', Detail: '{}' })),
        }),
      )
      .catch((e: Error) => e);
    expect(tooMany).toMatchObject({ name: 'ValidationException' });
    // the API role may put events on its bus only (serverless.yml: PublishEvents)
    const api = await t.admin.roleCredentials('arn:aws:iam::100000000001:role/s3-onboarding-api');
    expect(
      (
        await eb(api).send(
          new PutEventsCommand({ Entries: [{ Source: 's3-onboarding', DetailType: 'y', Detail: '{}' }] }),
        )
      ).FailedEntryCount,
    ).toBe(0);
    const otherBus = await eb(api)
      .send(
        new PutEventsCommand({
          Entries: [{ EventBusName: 'another', Source: 's3-onboarding', DetailType: 'y', Detail: '{}' }],
        }),
      )
      .catch((e: Error) => e);
    expect(otherBus).toMatchObject({ name: 'AccessDeniedException' });
  });
});

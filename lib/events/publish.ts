import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { TransientError } from '../errors';
import { EVENT_SOURCE, type OnboardingEvent } from './onboarding-events';

/** PutEvents takes at most 10 entries per call. */
const MAX_ENTRIES = 10;

let defaultClient: { key: string; client: EventBridgeClient } | undefined;
/**
 * The client every invocation of a container shares (endpoint, region and credentials from the environment; made
 * again when those change, as when the local stack restarts in one process).
 */
function eventBridge(env: NodeJS.ProcessEnv = process.env): EventBridgeClient {
  const key = [
    env.AWS_ENDPOINT_URL,
    env.AWS_ENDPOINT_URL_EVENTBRIDGE,
    env.AWS_REGION,
    env.AWS_ACCESS_KEY_ID,
    env.AWS_SESSION_TOKEN,
  ].join('|');
  if (defaultClient?.key !== key) defaultClient = { key, client: new EventBridgeClient({}) };
  return defaultClient.client;
}

const eventBusName = (env: NodeJS.ProcessEnv = process.env): string => env.EVENT_BUS_NAME || 'default';

function entryOf(e: OnboardingEvent, bus: string): PutEventsRequestEntry {
  return {
    EventBusName: bus,
    Source: EVENT_SOURCE,
    DetailType: e.detailType,
    Detail: JSON.stringify(e.detail),
    Time: new Date(e.detail.time),
    Resources: e.detail.roleArn ? [e.detail.roleArn] : [],
  };
}

/**
 * Puts the events on the bus, in order, ten to a call. Any entry EventBridge refuses (or a failed call) fails the
 * whole publish: the caller (the stream function) retries it, and consumers de-duplicate on `detail.eventId`.
 */
export async function publishEvents(
  events: OnboardingEvent[],
  opts: { client?: EventBridgeClient; bus?: string } = {},
): Promise<void> {
  const client = opts.client ?? eventBridge();
  const bus = opts.bus ?? eventBusName();
  for (let i = 0; i < events.length; i += MAX_ENTRIES) {
    const out = await client.send(
      new PutEventsCommand({ Entries: events.slice(i, i + MAX_ENTRIES).map((e) => entryOf(e, bus)) }),
    );
    if (out.FailedEntryCount) {
      const failed = (out.Entries ?? [])
        .filter((x) => x.ErrorCode)
        .map((x) => `${x.ErrorCode}: ${x.ErrorMessage ?? ''}`);
      throw new TransientError(`EventBridge refused ${out.FailedEntryCount} of the events (${failed.join('; ')})`);
    }
  }
}

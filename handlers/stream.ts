import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { logger } from '../lib/log';
import { eventsOf } from '../lib/events/onboarding-events';
import { publishEvents } from '../lib/events/publish';
import { countEvents, flushMetrics } from '../lib/metrics';
import type { OnboardingRecord } from '../lib/onboarding/model/records';

/** An onboarding record from a stream image (other items of the table: undefined). */
function recordOf(image: Record<string, unknown> | undefined): OnboardingRecord | undefined {
  if (!image) return undefined;
  const item = unmarshall(image as Record<string, AttributeValue>);
  if (
    item.sk !== 'RECORD' ||
    typeof item.pk !== 'string' ||
    !item.pk.startsWith('ONB#') ||
    typeof item.doc !== 'string'
  )
    return undefined;
  return JSON.parse(item.doc) as OnboardingRecord;
}

/**
 * The table's change stream (NEW_AND_OLD_IMAGES) → EventBridge: each record's events, in order. The first record
 * whose events fail to publish is reported as a batch item failure, and none after it is attempted: the stream
 * delivers it again with everything after it, so a record's events stay in order and none is lost (at least once).
 */
export async function handler(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  try {
    for (const r of event.Records) {
      if (!(await publishRecord(r)))
        return { batchItemFailures: [{ itemIdentifier: r.dynamodb?.SequenceNumber ?? '' }] };
    }
    return { batchItemFailures: [] };
  } finally {
    flushMetrics();
  }
}

async function publishRecord(r: DynamoDBRecord): Promise<boolean> {
  let events;
  try {
    events = eventsOf(recordOf(r.dynamodb?.OldImage as never), recordOf(r.dynamodb?.NewImage as never));
  } catch (error) {
    // a record that cannot be read will never become readable: retrying it would block the stream
    logger.error('stream record skipped: unreadable image', {
      sequenceNumber: r.dynamodb?.SequenceNumber,
      error: error as Error,
    });
    return true;
  }
  if (!events.length) return true;
  try {
    await publishEvents(events);
    countEvents(events.map((e) => e.detailType));
    return true;
  } catch (error) {
    logger.warn('publishing events failed; the stream retries them', {
      sequenceNumber: r.dynamodb?.SequenceNumber,
      eventIds: events.map((e) => e.detail.eventId),
      error: error as Error,
    });
    return false;
  }
}

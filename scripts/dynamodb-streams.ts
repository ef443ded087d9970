import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { DynamoDBClient, GetItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

/**
 * DynamoDB Streams for the local stack (dynalite has none): a proxy in front of the local DynamoDB that sees every
 * successful write to the table and turns it into a stream record with the item's old and new images
 * (NEW_AND_OLD_IMAGES), then feeds the stream function of serverless.yml the way Lambda's event source mapping
 * does: in order (one shard), in batches, at least once, retrying from the first record a batch reports as failed
 * (ReportBatchItemFailures) with a growing pause. Writes that change nothing make no record, as in DynamoDB.
 *
 * Each written key is locked from the read of its old image to the read of its new one, so the images are
 * exactly before and after that write (as long as every writer goes through the proxy: the local stack's do).
 */

type Item = Record<string, AttributeValue>;
type Handler = (event: DynamoDBStreamEvent, context: unknown) => Promise<DynamoDBBatchResponse | void>;

export interface StreamFeeder {
  /** the DynamoDB endpoint to give writers */
  url: string;
  /** stream records not yet delivered (or being delivered) */
  pending(): number;
  /** resolves once every record so far has been delivered (for tests and the sweep's summary) */
  drained(timeoutMs?: number): Promise<void>;
  /** drops what is pending and waits for a delivery under way to finish (an emulator reset) */
  clear(): Promise<void>;
  close(): Promise<void>;
}

export interface StreamFunction {
  handlerPath: string;
  functionName: string;
  batchSize: number;
}

/** The function of serverless.yml with a DynamoDB stream event on the table, and its batch size. */
export function streamFunctionFromServerless(repoRoot: string): StreamFunction | undefined {
  const sls = parse(readFileSync(path.join(repoRoot, 'serverless.yml'), 'utf8')) as {
    functions: Record<string, { handler: string; events?: { stream?: { type?: string; batchSize?: number } }[] }>;
  };
  for (const [functionName, fn] of Object.entries(sls.functions)) {
    const ev = fn.events?.find((e) => e.stream?.type === 'dynamodb');
    if (ev) return { handlerPath: fn.handler, functionName, batchSize: ev.stream?.batchSize ?? 100 };
  }
  return undefined;
}

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

/** The keys of `table` a write request touches, in request order. */
function keysOf(operation: string, body: Record<string, unknown>, table: string, keyNames: string[]): Item[] {
  const pick = (item: Item): Item => Object.fromEntries(keyNames.map((k) => [k, item[k]]));
  switch (operation) {
    case 'PutItem':
      return body.TableName === table ? [pick(body.Item as Item)] : [];
    case 'UpdateItem':
    case 'DeleteItem':
      return body.TableName === table ? [pick(body.Key as Item)] : [];
    case 'BatchWriteItem': {
      const reqs =
        ((body.RequestItems as Record<string, { PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }[]>) ?? {})[
          table
        ] ?? [];
      return reqs.map((r) => pick(r.PutRequest?.Item ?? r.DeleteRequest!.Key));
    }
    case 'TransactWriteItems': {
      const items = (body.TransactItems as Record<string, { TableName: string; Item?: Item; Key?: Item }>[]) ?? [];
      return items.flatMap((t) => {
        const op = t.Put ?? t.Update ?? t.Delete;
        return op && op.TableName === table ? [pick(op.Item ?? op.Key!)] : [];
      });
    }
    default:
      return [];
  }
}

const keyString = (k: Item): string =>
  JSON.stringify(
    Object.keys(k)
      .sort()
      .map((n) => [n, k[n]]),
  );

/** Serialises work per key (the images of one write are never interleaved with another write of that key). */
class KeyLocks {
  private readonly tails = new Map<string, Promise<void>>();
  async run<T>(keys: string[], fn: () => Promise<T>): Promise<T> {
    const unique = [...new Set(keys)].sort();
    const releases: (() => void)[] = [];
    for (const k of unique) {
      const previous = this.tails.get(k) ?? Promise.resolve();
      let release!: () => void;
      const mine = new Promise<void>((r) => (release = r));
      const tail = previous.then(() => mine);
      this.tails.set(k, tail);
      releases.push(() => {
        release();
        if (this.tails.get(k) === tail) this.tails.delete(k);
      });
      await previous;
    }
    try {
      return await fn();
    } finally {
      for (const r of releases) r();
    }
  }
}

export async function startStreamFeeder(opts: {
  /** the local DynamoDB behind the proxy */
  target: string;
  table: string;
  keyNames: string[];
  repoRoot: string;
  fn: StreamFunction;
  region: string;
  /** first pause before a failed batch is delivered again (doubling up to 2 s) */
  retryMs?: number;
}): Promise<StreamFeeder> {
  const ddb = new DynamoDBClient({
    endpoint: opts.target,
    region: opts.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const locks = new KeyLocks();
  const log: DynamoDBRecord[] = [];
  let seq = 0;
  let generation = 0;
  let delivering: Promise<void> | undefined;
  let closed = false;
  let handler: Handler | undefined;
  const loadHandler = (): Handler => {
    if (!handler) {
      const dot = opts.fn.handlerPath.lastIndexOf('.');
      const mod = require(path.join(opts.repoRoot, opts.fn.handlerPath.slice(0, dot))) as Record<string, Handler>;
      handler = mod[opts.fn.handlerPath.slice(dot + 1)];
    }
    return handler;
  };

  const image = async (key: Item): Promise<Item | undefined> =>
    (await ddb.send(new GetItemCommand({ TableName: opts.table, Key: key, ConsistentRead: true }))).Item;

  const append = (key: Item, before: Item | undefined, after: Item | undefined) => {
    if (!before && !after) return;
    if (
      before &&
      after &&
      JSON.stringify(Object.entries(before).sort()) === JSON.stringify(Object.entries(after).sort())
    )
      return;
    seq++;
    log.push({
      eventID: `local-${seq}`,
      eventName: !before ? 'INSERT' : !after ? 'REMOVE' : 'MODIFY',
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: opts.region,
      eventSourceARN: `arn:aws:dynamodb:${opts.region}:000000000000:table/${opts.table}/stream/local`,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(Date.now() / 1000),
        Keys: key as never,
        ...(before ? { OldImage: before as never } : {}),
        ...(after ? { NewImage: after as never } : {}),
        SequenceNumber: String(seq).padStart(21, '0'),
        SizeBytes: JSON.stringify([before, after]).length,
        StreamViewType: 'NEW_AND_OLD_IMAGES',
      },
    });
    kick();
  };

  const deliverAll = async (): Promise<void> => {
    const mine = generation;
    let pause = opts.retryMs ?? 50;
    while (log.length && !closed && mine === generation) {
      const batch = log.slice(0, opts.fn.batchSize);
      let failedFrom = -1;
      try {
        const out = await loadHandler()(
          { Records: batch },
          {
            functionName: `s3-onboarding-local-${opts.fn.functionName}`,
            awsRequestId: `stream-${batch[0].eventID}`,
            getRemainingTimeInMillis: () => 60_000,
          },
        );
        const failures = out?.batchItemFailures ?? [];
        if (failures.length) {
          const ids = new Set(failures.map((f) => f.itemIdentifier));
          failedFrom = batch.findIndex((r) => ids.has(r.dynamodb!.SequenceNumber!));
          // an identifier the batch does not hold fails the whole batch, as Lambda treats it
          if (failedFrom < 0) failedFrom = 0;
        }
      } catch {
        failedFrom = 0;
      }
      if (mine !== generation) return;
      // what succeeded leaves the stream; the rest is delivered again, from the first failure, after a pause
      log.splice(0, failedFrom < 0 ? batch.length : failedFrom);
      if (failedFrom >= 0) {
        await new Promise((r) => setTimeout(r, pause));
        pause = Math.min(pause * 2, 2_000);
      } else {
        pause = opts.retryMs ?? 50;
      }
    }
  };
  function kick(): void {
    if (delivering || closed) return;
    delivering = deliverAll().finally(() => {
      delivering = undefined;
      if (log.length && !closed) kick();
    });
  }

  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const target = String(req.headers['x-amz-target'] ?? '');
      const operation = target.split('.').pop() ?? '';
      let keys: Item[] = [];
      if (/^(PutItem|UpdateItem|DeleteItem|BatchWriteItem|TransactWriteItems)$/.test(operation)) {
        try {
          keys = keysOf(
            operation,
            JSON.parse(body.toString('utf8')) as Record<string, unknown>,
            opts.table,
            opts.keyNames,
          );
        } catch {
          keys = [];
        }
      }
      const forward = async () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers))
          if (v !== undefined && k !== 'host' && k !== 'connection' && k !== 'content-length')
            headers[k] = Array.isArray(v) ? v.join(',') : v;
        const out = await fetch(`${opts.target}${req.url ?? '/'}`, {
          method: req.method,
          headers,
          body: req.method === 'GET' || req.method === 'HEAD' ? undefined : body,
        });
        return { status: out.status, headers: Object.fromEntries(out.headers.entries()), text: await out.text() };
      };
      const send = (out: { status: number; headers: Record<string, string>; text: string }) => {
        const h = { ...out.headers };
        delete h['content-length'];
        delete h['transfer-encoding'];
        delete h['content-encoding'];
        res.writeHead(out.status, h);
        res.end(out.text);
      };
      if (!keys.length) {
        send(await forward());
        return;
      }
      const out = await locks.run(keys.map(keyString), async () => {
        const before = await Promise.all(keys.map(image));
        const answer = await forward();
        if (answer.status === 200) {
          const after = await Promise.all(keys.map(image));
          // a key written twice in one batch is one change
          const seen = new Set<string>();
          keys.forEach((k, i) => {
            if (seen.has(keyString(k))) return;
            seen.add(keyString(k));
            append(k, before[i], after[i]);
          });
        }
        return answer;
      });
      send(out);
    })().catch((e: Error) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(
        JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
          message: `local stream proxy: ${e.message}`,
        }),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    pending: () => log.length,
    drained: async (timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      while (log.length || delivering) {
        if (Date.now() > deadline)
          throw new Error(`the local stream still holds ${log.length} record(s) after ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    clear: async () => {
      generation++;
      log.length = 0;
      await delivering;
    },
    close: async () => {
      closed = true;
      generation++;
      log.length = 0;
      await delivering;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      ddb.destroy();
    },
  };
}

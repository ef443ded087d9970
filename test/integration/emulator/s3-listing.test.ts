import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import type { Emulator } from '../../../emulator/server';
import { BACKUPS, clientsFor, failure, rootCredentials, useTestEmulator, type Clients } from '../../helpers/emulator';

let emu: Emulator;
let backups: Clients;
useTestEmulator((e) => (emu = e));
beforeEach(async () => {
  backups = clientsFor(emu, rootCredentials(BACKUPS));
  for (const Key of ['t/a.txt', 't/b.txt', 't/sub/c.txt', 't/sub/deeper/d.txt', 't/x y+z.txt']) {
    await backups.s3.send(new PutObjectCommand({ Bucket: 'shared-backups', Key, Body: Key }));
  }
});

/** Found by comparing with moto and by an rclone restore: S3 listings roll keys up at the delimiter. */
describe('Emulator: S3 listings, checksums, ranges and multipart uploads as S3 answers them', () => {
  it('rolls keys up into common prefixes at the delimiter (version 2)', async () => {
    const out = await backups.s3.send(
      new ListObjectsV2Command({ Bucket: 'shared-backups', Prefix: 't/', Delimiter: '/' }),
    );
    expect(out.Contents?.map((c) => c.Key)).toEqual(['t/a.txt', 't/b.txt', 't/x y+z.txt']);
    expect(out.CommonPrefixes?.map((c) => c.Prefix)).toEqual(['t/sub/']);
    expect(out.KeyCount).toBe(4);
    expect(out.Delimiter).toBe('/');
  });

  it('pages through keys and common prefixes alike, with NextMarker in version 1', async () => {
    const seen: string[] = [];
    let Marker: string | undefined;
    let pages = 0;
    for (; pages < 10;) {
      const out = await backups.s3.send(
        new ListObjectsCommand({ Bucket: 'shared-backups', Prefix: 't/', Delimiter: '/', MaxKeys: 2, Marker }),
      );
      pages++;
      // four entries, two per page: the first page must say there is more
      if (pages === 1) expect(out.IsTruncated).toBe(true);
      seen.push(...(out.Contents ?? []).map((c) => c.Key!), ...(out.CommonPrefixes ?? []).map((c) => c.Prefix!));
      if (!out.IsTruncated) break;
      Marker = out.NextMarker;
      expect(Marker).toBeDefined();
    }
    expect(pages).toBe(2);
    expect(seen.sort()).toEqual(['t/a.txt', 't/b.txt', 't/sub/', 't/x y+z.txt']);
  });

  it('names each object owner in version 1 and URL-encodes keys on request', async () => {
    const out = await backups.s3.send(
      new ListObjectsCommand({ Bucket: 'shared-backups', Prefix: 't/x', EncodingType: 'url' }),
    );
    expect(out.EncodingType).toBe('url');
    expect(out.Contents?.map((c) => c.Key)).toEqual(['t/x%20y%2Bz.txt']);
    expect(out.Contents?.[0].Owner?.ID).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps a CRC32 checksum the upload names, and answers it on reads with checksum mode on', async () => {
    const put = await backups.s3.send(
      new PutObjectCommand({ Bucket: 'shared-backups', Key: 'c/one.txt', Body: 'one', ChecksumAlgorithm: 'CRC32' }),
    );
    // CRC32("one") = 0x7a6c86f1
    expect(put.ChecksumCRC32).toBe(Buffer.from('7a6c86f1', 'hex').toString('base64'));
    const got = await backups.s3.send(
      new GetObjectCommand({ Bucket: 'shared-backups', Key: 'c/one.txt', ChecksumMode: 'ENABLED' }),
    );
    expect(got.ChecksumCRC32).toBe(put.ChecksumCRC32);
    expect(await got.Body!.transformToString()).toBe('one');
    const head = await backups.s3.send(new HeadObjectCommand({ Bucket: 'shared-backups', Key: 'c/one.txt' }));
    expect(head.AcceptRanges).toBe('bytes');
    const list = await backups.s3.send(new ListObjectsV2Command({ Bucket: 'shared-backups', Prefix: 'c/' }));
    expect(list.Contents?.[0].ChecksumAlgorithm).toEqual(['CRC32']);
  });

  it('serves one byte range (206 with Content-Range), and 416 InvalidRange past the end', async () => {
    const tail = await backups.s3.send(
      new GetObjectCommand({ Bucket: 'shared-backups', Key: 't/a.txt', Range: 'bytes=2-' }),
    );
    expect(tail.$metadata.httpStatusCode).toBe(206);
    expect(await tail.Body!.transformToString()).toBe('a.txt');
    expect(tail.ContentRange).toBe('bytes 2-6/7');
    const suffix = await backups.s3.send(
      new GetObjectCommand({ Bucket: 'shared-backups', Key: 't/a.txt', Range: 'bytes=-3' }),
    );
    expect(await suffix.Body!.transformToString()).toBe('txt');
    expect(
      (
        await failure(
          backups.s3.send(new GetObjectCommand({ Bucket: 'shared-backups', Key: 't/a.txt', Range: 'bytes=7-9' })),
        )
      ).name,
    ).toBe('InvalidRange');
  });

  it('completes a multipart upload only when every part but the last is at least 5 MiB (EntityTooSmall otherwise)', async () => {
    const upload = async (Key: string, sizes: number[]) => {
      const { UploadId } = await backups.s3.send(new CreateMultipartUploadCommand({ Bucket: 'shared-backups', Key }));
      const Parts = [];
      for (const [i, size] of sizes.entries()) {
        const { ETag } = await backups.s3.send(
          new UploadPartCommand({
            Bucket: 'shared-backups',
            Key,
            UploadId,
            PartNumber: i + 1,
            Body: Buffer.alloc(size, i),
          }),
        );
        Parts.push({ ETag, PartNumber: i + 1 });
      }
      return backups.s3.send(
        new CompleteMultipartUploadCommand({ Bucket: 'shared-backups', Key, UploadId, MultipartUpload: { Parts } }),
      );
    };
    expect((await failure(upload('m/small.bin', [1024, 1024]))).name).toBe('EntityTooSmall');
    await upload('m/ok.bin', [5 * 1024 * 1024, 1024]);
    const head = await backups.s3.send(new HeadObjectCommand({ Bucket: 'shared-backups', Key: 'm/ok.bin' }));
    expect(head.ContentLength).toBe(5 * 1024 * 1024 + 1024);
    expect(head.ETag).toMatch(/-2"$/);
  });
});

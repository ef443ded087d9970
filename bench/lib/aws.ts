import { S3Client, GetBucketPolicyCommand } from '@aws-sdk/client-s3';
import { IAMClient, GetRoleCommand } from '@aws-sdk/client-iam';
import { KMSClient, GetKeyPolicyCommand, ListGrantsCommand } from '@aws-sdk/client-kms';

/** The account root, as the emulator knows it (signatures are not checked; the access key names the account). */
const root = (accountId: string) => ({ accessKeyId: `AKIA${accountId}ROOT`, secretAccessKey: 'root-secret' });

/** Size as IAM and S3 count it: the JSON without white space (outside strings), in bytes. */
export const compactBytes = (json: string): number => Buffer.byteLength(JSON.stringify(JSON.parse(json)), 'utf8');

export async function bucketPolicy(
  emulatorUrl: string,
  accountId: string,
  bucket: string,
): Promise<string | undefined> {
  const s3 = new S3Client({
    endpoint: emulatorUrl,
    region: 'eu-west-1',
    credentials: root(accountId),
    forcePathStyle: true,
    maxAttempts: 1,
  });
  try {
    return (await s3.send(new GetBucketPolicyCommand({ Bucket: bucket }))).Policy;
  } catch (e) {
    if ((e as Error).name === 'NoSuchBucketPolicy') return undefined;
    throw e;
  } finally {
    s3.destroy();
  }
}

export async function roleTrust(emulatorUrl: string, roleArn: string): Promise<string> {
  const iam = new IAMClient({
    endpoint: emulatorUrl,
    region: 'us-east-1',
    credentials: root(roleArn.split(':')[4]),
    maxAttempts: 1,
  });
  try {
    const out = await iam.send(new GetRoleCommand({ RoleName: roleArn.split('/').pop()! }));
    return decodeURIComponent(out.Role!.AssumeRolePolicyDocument!);
  } finally {
    iam.destroy();
  }
}

/** A key's policy and how many grants it holds, as the key's account root reads them. */
export async function keyState(emulatorUrl: string, keyArn: string): Promise<{ policy: string; grants: number }> {
  const kms = new KMSClient({
    endpoint: emulatorUrl,
    region: keyArn.split(':')[3],
    credentials: root(keyArn.split(':')[4]),
    maxAttempts: 1,
  });
  try {
    const policy = (await kms.send(new GetKeyPolicyCommand({ KeyId: keyArn, PolicyName: 'default' }))).Policy ?? '';
    let grants = 0;
    let marker: string | undefined;
    do {
      const page = await kms.send(new ListGrantsCommand({ KeyId: keyArn, Marker: marker, Limit: 100 }));
      grants += page.Grants?.length ?? 0;
      marker = page.Truncated ? page.NextMarker : undefined;
    } while (marker);
    return { policy, grants };
  } finally {
    kms.destroy();
  }
}

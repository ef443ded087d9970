import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { EKSClient } from '@aws-sdk/client-eks';
import { KMSClient } from '@aws-sdk/client-kms';
import type { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import type { S3ControlClient } from '@aws-sdk/client-s3-control';
import { s3ControlSdk, serviceQuotasSdk } from './lazy';
import { StandardRetryStrategy } from '@smithy/core/retry';
import type { AwsCredentialIdentity } from '@smithy/types';
import { externalIdFor, provisionerRoleArn, type Config } from '../config';
import { NotAllowedError } from '../errors';
import { call, errorName } from './errors';

/** Standard retries, except IAM quota errors: the SDK counts LimitExceeded as throttling, but it is final. */
class IamRetryStrategy extends StandardRetryStrategy {
  override async refreshRetryTokenForRetry(
    token: Parameters<StandardRetryStrategy['refreshRetryTokenForRetry']>[0],
    info: Parameters<StandardRetryStrategy['refreshRetryTokenForRetry']>[1],
  ) {
    if (errorName(info.error) === 'LimitExceededException') throw info.error;
    return super.refreshRetryTokenForRetry(token, info);
  }
}

interface Cached {
  credentials: AwsCredentialIdentity;
  expiresAt: number;
}

/**
 * Credentials of the provisioner role in each account, assumed with the platform (Lambda) credentials and
 * cached per account until shortly before they expire. Concurrent requests share one AssumeRole call.
 */
export class ProvisionerSessions {
  private readonly cache = new Map<string, Promise<Cached>>();
  private readonly clients = new Map<string, unknown>();
  readonly sts: STSClient;

  constructor(
    private readonly config: Config,
    sts?: STSClient,
    private readonly now: () => number = Date.now,
    /** called once per client made, with the account it acts in (metrics, the sweep's rate limit) */
    private readonly instrument?: (client: { middlewareStack: unknown }, accountId: string) => void,
  ) {
    this.sts = sts ?? new STSClient({});
  }

  async credentials(accountId: string): Promise<AwsCredentialIdentity> {
    const margin = this.config.credentialRefreshMarginSeconds * 1000;
    let entry = this.cache.get(accountId);
    if (entry) {
      const cached = await entry.catch(() => undefined);
      if (cached && cached.expiresAt - margin > this.now()) return cached.credentials;
      if (this.cache.get(accountId) === entry) this.cache.delete(accountId);
      entry = undefined;
    }
    entry = this.cache.get(accountId) ?? this.assume(accountId);
    this.cache.set(accountId, entry);
    try {
      return (await entry).credentials;
    } catch (e) {
      if (this.cache.get(accountId) === entry) this.cache.delete(accountId);
      throw e;
    }
  }

  private async assume(accountId: string): Promise<Cached> {
    const externalId = externalIdFor(this.config, accountId);
    if (!externalId)
      throw new NotAllowedError(
        `account ${accountId} is not configured (no external id for its provisioner role)`,
        'account-not-configured',
      );
    const out = await call(`assuming the provisioner role in account ${accountId}`, () =>
      this.sts.send(
        new AssumeRoleCommand({
          RoleArn: provisionerRoleArn(this.config, accountId),
          RoleSessionName: 's3-onboarding',
          ExternalId: externalId,
          DurationSeconds: 3600, // role chaining caps sessions at one hour
        }),
      ),
    );
    const c = out.Credentials!;
    return {
      credentials: {
        accessKeyId: c.AccessKeyId!,
        secretAccessKey: c.SecretAccessKey!,
        sessionToken: c.SessionToken,
        expiration: c.Expiration,
      },
      expiresAt: c.Expiration ? c.Expiration.getTime() : this.now() + 3600_000,
    };
  }

  private client<T>(key: string, make: () => T): T {
    let c = this.clients.get(key) as T | undefined;
    if (!c) {
      c = make();
      this.instrument?.(c as { middlewareStack: unknown }, key.split(':')[1]);
      this.clients.set(key, c);
    }
    return c;
  }

  private provider(accountId: string) {
    return () => this.credentials(accountId);
  }

  iam(accountId: string): IAMClient {
    return this.client(
      `iam:${accountId}`,
      () =>
        new IAMClient({
          region: 'us-east-1',
          credentials: this.provider(accountId),
          retryStrategy: new IamRetryStrategy(3),
        }),
    );
  }

  s3(accountId: string, region: string): S3Client {
    return this.client(
      `s3:${accountId}:${region}`,
      () =>
        new S3Client({ region, credentials: this.provider(accountId), forcePathStyle: this.config.s3ForcePathStyle }),
    );
  }

  eks(accountId: string, region: string): EKSClient {
    return this.client(
      `eks:${accountId}:${region}`,
      () => new EKSClient({ region, credentials: this.provider(accountId) }),
    );
  }

  kms(accountId: string, region: string): KMSClient {
    return this.client(
      `kms:${accountId}:${region}`,
      () => new KMSClient({ region, credentials: this.provider(accountId) }),
    );
  }

  /**
   * S3 Control (access points) of an account in a Region. Against a custom endpoint (`AWS_ENDPOINT_URL_S3_CONTROL`,
   * else `AWS_ENDPOINT_URL`: the emulator) the endpoint is given as resolved, because the SDK's endpoint rules put
   * the account id in front of a custom endpoint's host (emulator/README.md); against AWS the rules apply.
   */
  s3control(accountId: string, region: string): S3ControlClient {
    return this.client(`s3control:${accountId}:${region}`, () => {
      const endpoint = process.env.AWS_ENDPOINT_URL_S3_CONTROL || process.env.AWS_ENDPOINT_URL;
      return new (s3ControlSdk().S3ControlClient)({
        region,
        credentials: this.provider(accountId),
        ...(endpoint ? { endpoint, endpointProvider: () => ({ url: new URL(endpoint) }) } : {}),
      });
    });
  }

  /** Service Quotas of an account in a Region (IAM's global quotas are answered in us-east-1). */
  serviceQuotas(accountId: string, region: string): ServiceQuotasClient {
    return this.client(
      `servicequotas:${accountId}:${region}`,
      () => new (serviceQuotasSdk().ServiceQuotasClient)({ region, credentials: this.provider(accountId) }),
    );
  }
}

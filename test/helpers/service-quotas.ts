import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity } from '@smithy/types';
import type { Emulator } from '../../emulator/server';
import type { ServiceQuotaSource } from '../../lib/aws/quotas';
import { Sha256 } from './pod-identity';

/**
 * Service Quotas as its SDK client would call it (JSON 1.1, `X-Amz-Target: ServiceQuotasV20190624.<operation>`,
 * SigV4 with signing name `servicequotas`), signed by hand: `@aws-sdk/client-service-quotas` is not a dependency.
 */
export async function serviceQuotasCall(
  emu: Emulator,
  credentials: AwsCredentialIdentity,
  region: string,
  operation: string,
  input: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, any> }> {
  const url = new URL(emu.url);
  const body = JSON.stringify(input);
  const signer = new SignatureV4({ service: 'servicequotas', region, credentials, sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: '/',
    query: {},
    headers: {
      host: url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `ServiceQuotasV20190624.${operation}`,
    },
    body,
  });
  const res = await fetch(`${emu.url}/`, { method: 'POST', headers: signed.headers, body });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** A ServiceQuotaSource over the emulator, acting as `credentialsFor(account)`: what the service's will be. */
export function emulatorQuotaSource(
  emu: Emulator,
  credentialsFor: (accountId: string) => Promise<AwsCredentialIdentity>,
  calls: { region: string; key: string }[] = [],
): ServiceQuotaSource {
  return async ({ accountId, region, serviceCode, quotaCode }) => {
    calls.push({ region, key: `${serviceCode}/${quotaCode}` });
    const out = await serviceQuotasCall(emu, await credentialsFor(accountId), region, 'GetServiceQuota', {
      ServiceCode: serviceCode,
      QuotaCode: quotaCode,
    });
    if (out.status === 200) return out.body.Quota.Value as number;
    if (out.body.__type === 'NoSuchResourceException') return undefined;
    throw Object.assign(new Error(out.body.message), {
      name: out.body.__type,
      $metadata: { httpStatusCode: out.status },
    });
  };
}

/**
 * SDK clients that only some requests need, loaded on their first use instead of at a cold start: S3 Control (access
 * points) and Service Quotas (the quota reads of a new identity or onboarding). Bundled like every other package;
 * esbuild evaluates a module `require`d inside a function only when that function first runs (`npm run bench`:
 * cold start). The types are the packages' own.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
export const s3ControlSdk = (): typeof import('@aws-sdk/client-s3-control') => require('@aws-sdk/client-s3-control');
export const serviceQuotasSdk = (): typeof import('@aws-sdk/client-service-quotas') =>
  require('@aws-sdk/client-service-quotas');

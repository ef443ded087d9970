/**
 * Generates openapi.yaml (OpenAPI 3.1) from the zod schemas the handlers validate with, so the document cannot
 * say something the code does not do. `npm run openapi` (tsx scripts/openapi.ts) writes it;
 * test/unit/openapi.test.ts fails when the committed file differs from what this produces.
 *
 * zod-to-openapi is a devDependency: only scripts and tests import it. The runtime schemas carry their
 * descriptions and component names through zod's own `.meta()`, which the generator reads.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { stringify } from 'yaml';
import { listOnboardingsQuerySchema, onboardingRequestSchema } from '../lib/onboarding/request/request';
import {
  deleteResponseSchema,
  healthResponseSchema,
  onboardingIdSchema,
  onboardingListSchema,
  onboardingRecordSchema,
  onboardingResponseSchema,
  problemSchema,
  verifyResponseSchema,
} from '../lib/onboarding/request/response-schema';
import { idempotencyKeySchema } from '../lib/onboarding/request/validators';

export const OPENAPI_FILE = join(__dirname, '..', 'openapi.yaml');
export const API_VERSION = '1.0.0';
export const SECURITY_SCHEME = 'awsSigV4';

const PROBLEM_MEDIA_TYPE = 'application/problem+json';

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid: `errors` lists each field and the rule it breaks. Nothing was written.',
  403: 'A guardrail refused the request (`rule` names it), or the caller may not call the API. Nothing was written.',
  404: 'No onboarding has this id.',
  409: 'The Idempotency-Key was used with another body, another request on the same resources is in progress, or a quota (policy size, roles) would be exceeded. Nothing was written.',
  413: 'The body is larger than the API accepts. Nothing was written.',
  415: 'The body is not application/json. Nothing was written.',
  500: 'An internal error; quote the request id when you report it.',
  503: 'AWS throttled or failed in a way a later retry may fix (Retry-After says when).',
};

function problems(...statuses: number[]): Record<number, ResponseConfig> {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: PROBLEM_DESCRIPTIONS[status]!, content: { [PROBLEM_MEDIA_TYPE]: { schema: problemSchema } } },
    ]),
  );
}

const json = (description: string, schema: z.ZodType): ResponseConfig => ({
  description,
  content: { 'application/json': { schema } },
});

const idempotencyHeaders = z.object({ 'Idempotency-Key': idempotencyKeySchema.optional() });
const idParams = z.object({ id: onboardingIdSchema });

/** The whole document, as a plain object. */
export function buildOpenApiDocument(): ReturnType<OpenApiGeneratorV31['generateDocument']> {
  const registry = new OpenAPIRegistry();

  registry.registerComponent('securitySchemes', SECURITY_SCHEME, {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    'x-amazon-apigateway-authtype': 'awsSigv4',
    description: [
      'AWS IAM authorization: sign every request with AWS Signature Version 4 (service `execute-api`), as the',
      'AWS CLI and SDKs do; no API key is involved. The caller is the signing IAM principal, and guardrails',
      'decide what it may onboard. Requests to the local stack (`npm start`) are not signed: they act as the',
      'principal named in `LOCAL_CALLER`.',
    ].join(' '),
  });

  registry.registerPath({
    method: 'post',
    path: '/v1/onboardings',
    operationId: 'createOnboarding',
    tags: ['onboardings'],
    summary: 'Provision S3 access for a workload (an upsert: repeating it converges)',
    description:
      'Creates or updates what the workload needs to reach the bucket: the workload role (IRSA trust for EKS, or the instance role for EC2), its permissions, the bucket-policy statements across accounts, and configuration snippets for the tool. With `dryRun: true` it only plans. A retry with the same Idempotency-Key and body returns the first response.',
    request: {
      headers: idempotencyHeaders,
      body: { required: true, content: { 'application/json': { schema: onboardingRequestSchema } } },
    },
    responses: {
      200: json('Everything was already in place (or, for a dry run, would be).', onboardingResponseSchema),
      201: json('Something was created or changed (or, for a dry run, would be).', onboardingResponseSchema),
      ...problems(400, 403, 409, 413, 415, 500, 503),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/onboardings',
    operationId: 'listOnboardings',
    tags: ['onboardings'],
    summary: 'List onboardings, optionally by cluster or bucket',
    request: { query: listOnboardingsQuerySchema },
    responses: {
      200: json('One page of onboardings; `nextToken` is present when there are more.', onboardingListSchema),
      ...problems(400, 500, 503),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/onboardings/{id}',
    operationId: 'getOnboarding',
    tags: ['onboardings'],
    summary: 'Read one onboarding',
    request: { params: idParams },
    responses: {
      200: json('The onboarding: the POST response plus createdAt, updatedAt and requestedBy.', onboardingRecordSchema),
      ...problems(404, 500, 503),
    },
  });

  registry.registerPath({
    method: 'delete',
    path: '/v1/onboardings/{id}',
    operationId: 'deleteOnboarding',
    tags: ['onboardings'],
    summary: 'Remove exactly what this service added',
    description:
      'Removes the roles this service created, its own bucket-policy statements and the OIDC providers it created that nothing else uses; everything else is left as it was. Repeating it never fails with a 5xx caused by the earlier deletion.',
    request: { headers: idempotencyHeaders, params: idParams },
    responses: {
      200: json('Removed; `changes` lists what was deleted.', deleteResponseSchema),
      ...problems(403, 404, 409, 500, 503),
    },
  });

  registry.registerPath({
    method: 'post',
    path: '/v1/onboardings/{id}/verify',
    operationId: 'verifyOnboarding',
    tags: ['onboardings'],
    summary: 'Check live IAM, S3 and KMS state against what was provisioned',
    request: { params: idParams },
    responses: {
      200: json('The checks; `ok` is true when every check passed.', verifyResponseSchema),
      ...problems(404, 500, 503),
    },
  });

  registry.registerPath({
    method: 'get',
    path: '/v1/health',
    operationId: 'getHealth',
    tags: ['health'],
    summary: 'Whether the API reaches AWS as itself and as the provisioner role in every target account',
    responses: {
      200: json('Every account is reachable.', healthResponseSchema),
      503: json('At least one account is not reachable (see `accounts`).', healthResponseSchema),
    },
  });

  const generator = new OpenApiGeneratorV31(registry.definitions, { sortComponents: 'alphabetically' });
  return generator.generateDocument({
    openapi: '3.1.0',
    info: {
      title: 's3-onboarding',
      version: API_VERSION,
      description:
        'Provisions least-privilege S3 access for EKS workloads (IAM roles for service accounts) and EC2 instances, across AWS accounts, from one request. Errors are application/problem+json; any 4xx means nothing was written anywhere.',
    },
    servers: [
      { url: 'http://127.0.0.1:3000', description: 'The local stack (`npm start`); requests are not signed.' },
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
        description: 'Deployed on API Gateway; requests are signed with SigV4.',
        variables: { apiId: { default: 'example' }, region: { default: 'eu-west-1' } },
      },
    ],
    security: [{ [SECURITY_SCHEME]: [] }],
    tags: [
      { name: 'onboardings', description: 'Provision, read, verify and remove S3 access.' },
      { name: 'health', description: 'Reachability of AWS and the target accounts.' },
    ],
  });
}

const HEADER = '# Generated by scripts/openapi.ts from the zod schemas (npm run openapi). Do not edit by hand.\n';

/** The document as the YAML text of openapi.yaml. */
export function renderOpenApiYaml(): string {
  return HEADER + stringify(buildOpenApiDocument(), { lineWidth: 0, aliasDuplicateObjects: false });
}

if (require.main === module) {
  writeFileSync(OPENAPI_FILE, renderOpenApiYaml());
  process.stdout.write(`wrote ${OPENAPI_FILE}\n`);
}

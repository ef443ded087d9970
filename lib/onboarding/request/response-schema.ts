import { COMPONENTS } from '../../policy/requirements';
import * as z from 'zod';
import { accountIdSchema } from './validators';

/**
 * The shapes of the API's answers (contract section 4), as zod schemas: scripts/openapi.ts documents them and
 * tests validate real handler responses against them. Runtime-safe (plain zod; `.meta()` ids name the OpenAPI
 * components). Objects are not strict: the contract lets answers gain fields, never lose them.
 */

// ---------- errors ----------

const fieldErrorSchema = z
  .object({
    path: z.string().meta({
      description:
        'The field, as dot-separated segments with array indexes as numbers (workload.clusters.0.name); a segment with other characters than A-Z a-z 0-9 _ $ - is a bracketed JSON string (tags["team.name"]); "" is the whole body.',
      example: 'bucket.prefix',
    }),
    message: z
      .string()
      .meta({ description: 'What is wrong, naming the rule.', example: 'must not start with / (bucket prefix)' }),
  })
  .meta({ id: 'FieldError' });

export const problemSchema = z
  .looseObject({
    type: z.string().meta({
      description: 'Identifies the kind of problem.',
      example: 'https://s3-onboarding.dev/problems/validation',
    }),
    title: z.string().meta({ example: 'Validation failed' }),
    status: z.number().int().min(400).max(599),
    detail: z.string().meta({
      description: 'For 4xx, what went wrong; for 5xx, a fixed text (details stay in the logs under the request id).',
    }),
    errors: z
      .array(fieldErrorSchema)
      .optional()
      .meta({ description: 'Validation errors (400), one per field and rule.' }),
    requestId: z.string().optional().meta({ description: 'The request id, to quote when reporting a problem.' }),
    rule: z.string().optional().meta({ description: '403: the guardrail rule that refused the request.' }),
  })
  .meta({
    id: 'Problem',
    description:
      'RFC 9457 problem details (application/problem+json). Any 4xx means nothing was written anywhere. A quota problem adds its details as further members.',
  });

// ---------- IAM policies ----------

const stringOrList = z.union([z.string(), z.array(z.string())]);

const policyStatementSchema = z
  .looseObject({
    Sid: z.string().optional(),
    Effect: z.enum(['Allow', 'Deny']),
    Principal: z.union([z.literal('*'), z.record(z.string(), stringOrList)]).optional(),
    NotPrincipal: z.record(z.string(), stringOrList).optional(),
    Action: stringOrList.optional(),
    NotAction: stringOrList.optional(),
    Resource: stringOrList.optional(),
    NotResource: stringOrList.optional(),
    Condition: z
      .record(z.string(), z.record(z.string(), z.union([z.string(), z.boolean(), z.array(z.string())])))
      .optional(),
  })
  .meta({ id: 'PolicyStatement', description: 'An IAM policy statement.' });

const policyDocumentSchema = z
  .looseObject({
    Version: z.literal('2012-10-17'),
    Id: z.string().optional(),
    Statement: z.array(policyStatementSchema),
  })
  .meta({ id: 'PolicyDocument', description: 'An IAM policy document.' });

// ---------- onboardings ----------

export const onboardingIdSchema = z
  .string()
  .min(1)
  .meta({ description: 'Stable id: the same onboarding always has the same id.', example: 'ob-3f9a2c7d5e1b' });

const roleArnSchema = z
  .string()
  .meta({ example: 'arn:aws:iam::200000000002:role/s3-onboarding/s3ob-pbm-mongodb-3f9a2c7d5e1b04a6c8d2' });

const changeSchema = z
  .object({
    action: z.string().meta({ example: 'CreateRole' }),
    accountId: accountIdSchema,
    resource: z
      .string()
      .meta({ example: 'arn:aws:iam::200000000002:role/s3-onboarding/s3ob-pbm-mongodb-3f9a2c7d5e1b04a6c8d2' }),
  })
  .meta({ id: 'Change', description: 'A change made (or, for a dry run, to be made).' });

const requirementSchema = z
  .object({
    component: z.enum(COMPONENTS),
    minimumVersion: z.string().meta({ example: '2.10.0' }),
    why: z.string().meta({ description: 'What does not work below it.' }),
    source: z.string().meta({
      description: "Where the component's source shows it: <repo>@<tag>:<path>:<line>.",
      example: 'percona/percona-backup-mongodb@v2.10.0:pbm/storage/s3/s3.go:600',
    }),
  })
  .meta({ id: 'Requirement', description: 'A minimum version the returned snippets need.' });

export const onboardingResponseSchema = z
  .object({
    id: onboardingIdSchema,
    status: z.enum(['provisioned', 'planned']).meta({ description: 'planned: a dry run; nothing was written.' }),
    roleArn: roleArnSchema.meta({ description: 'The role the workload uses (IRSA annotation / AWS_ROLE_ARN).' }),
    roles: z.array(
      z.object({
        arn: z.string(),
        accountId: accountIdSchema,
        purpose: z.string().meta({ example: 'workload' }),
      }),
    ),
    changes: z.array(changeSchema),
    policies: z
      .looseObject({
        trust: policyDocumentSchema,
        permissions: policyDocumentSchema,
        bucketPolicyStatements: z.array(policyStatementSchema),
        keyGrants: z
          .array(
            z.object({
              keyArn: z.string(),
              name: z.string().meta({ description: 'The grant name: s3-onboarding_<onboarding id>.' }),
              granteePrincipal: z.string().meta({ description: 'The workload role that calls S3.' }),
              retiringPrincipal: z.string().meta({ description: "The provisioner role of the key's account." }),
              operations: z.array(z.enum(['Decrypt', 'GenerateDataKey'])),
            }),
          )
          .optional()
          .meta({
            description:
              "SSE-KMS: the KMS grant on the bucket's key to the workload role, in every mode (Decrypt; GenerateDataKey for the writing levels). Key policies are never changed.",
          }),
        accessPoint: z
          .object({
            name: z.string().meta({ example: 's3ob-3f9a0c1b2d4e' }),
            arn: z.string().meta({ example: 'arn:aws:s3:eu-west-1:300000000003:accesspoint/s3ob-3f9a0c1b2d4e' }),
            alias: z.string().meta({
              description:
                'What the snippets name where a tool takes a bucket name. AWS makes it up when the access point is created: a dry run (or an answer before creation) shows <name>-pending-s3alias.',
            }),
            policy: policyDocumentSchema,
          })
          .optional()
          .meta({
            description:
              "crossAccountMode access-point: the onboarding's S3 access point in the bucket's account (Block Public Access on, tagged managed-by and s3-onboarding/onboarding) and its policy; the bucket policy holds one delegation statement for all of the service's access points.",
          }),
      })
      .meta({
        description:
          "The workload role's trust and permissions policies, this service's statements in the bucket policy (cross-account), for SSE-KMS its KMS grant on the key, and in access-point mode the onboarding's access point.",
      }),
    requirements: z.array(requirementSchema).meta({
      description:
        "For this tool, identity kind, mode and access level: the minimum version of each component without which the returned snippets do not work, read from the components' source (lib/policy/requirements.ts). Empty when nothing beyond the tool itself is needed.",
    }),
    leftToOwner: z
      .array(z.object({ accountId: z.string(), resource: z.string(), detail: z.string() }))
      .optional()
      .meta({
        description:
          "A key-policy statement an earlier version of the service wrote that it may no longer remove (key policies are never changed now): left to the key's owner, with the commands that remove it.",
      }),
    snippets: z.record(z.string(), z.string()).meta({
      description: 'Configuration snippets by file name (serviceaccount.yaml, pbm-config.yaml, …); never credentials.',
    }),
  })
  .meta({
    id: 'OnboardingResponse',
    description: 'What POST /v1/onboardings provisioned (201) or found already in place (200).',
  });

export const onboardingRecordSchema = onboardingResponseSchema
  .extend({
    status: z.enum(['provisioned', 'provisioning', 'failed', 'deleting']).meta({
      description:
        'failed: the last apply stopped midway; a retry of the same request finishes it, DELETE removes what was created.',
    }),
    lastError: z.string().optional().meta({ description: 'Why the last apply failed.' }),
    stepsPlanned: z
      .array(z.string())
      .optional()
      .meta({ description: 'While not provisioned: the steps of the last apply.' }),
    stepsDone: z
      .array(z.string())
      .optional()
      .meta({ description: 'While not provisioned: the steps of the last apply that completed.' }),
    createdAt: z.iso.datetime({ offset: true }),
    updatedAt: z.iso.datetime({ offset: true }),
    requestedBy: z.string().meta({
      description: 'The IAM principal that last requested it.',
      example: 'arn:aws:iam::100000000001:role/platform-admin',
    }),
    drift: z
      .object({
        ok: z.boolean().meta({
          description:
            'false: a verify check failed (drift from what was provisioned, or the workload cannot reach its prefix).',
        }),
        checkedAt: z.iso.datetime({ offset: true }),
        failing: z.array(z.string()).meta({ description: 'The names of the verify checks that failed.' }),
      })
      .optional()
      .meta({
        description: "The drift sweep's last finding; absent until the sweep has checked it since its last change.",
      }),
  })
  .meta({ id: 'Onboarding', description: 'A stored onboarding: the POST response plus when and by whom.' });

export const onboardingListSchema = z
  .object({
    items: z.array(onboardingRecordSchema),
    nextToken: z
      .string()
      .optional()
      .meta({ description: 'Present when there are more items: pass it as ?nextToken=.' }),
  })
  .meta({ id: 'OnboardingList' });

export const deleteResponseSchema = z
  .object({
    id: onboardingIdSchema,
    status: z.literal('deleted'),
    changes: z.array(changeSchema).meta({ description: 'What was removed: only what this service added.' }),
    leftToOwner: z
      .array(z.object({ accountId: z.string(), resource: z.string(), detail: z.string() }))
      .optional()
      .meta({
        description:
          'What this service added but may no longer remove, because its owner withdrew the opt-in (an EC2 instance role no longer tagged s3-onboarding-grantable=true), or because the service no longer changes key policies (a key-policy statement an earlier version wrote): left in place for the owner, with the command that removes it.',
      }),
  })
  .meta({ id: 'DeleteResult' });

export const verifyResponseSchema = z
  .object({
    ok: z.boolean(),
    checks: z.array(
      z.object({
        name: z.string().meta({ example: 'trust-policy' }),
        ok: z.boolean(),
        detail: z.string(),
      }),
    ),
  })
  .meta({
    id: 'VerifyResult',
    description:
      'Drift from what was provisioned, and whether the workload identity reaches the bucket with the granted actions.',
  });

export const healthResponseSchema = z
  .object({
    ok: z.boolean(),
    platform: z.object({ arn: z.string().meta({ description: 'The identity the API runs as.' }) }),
    accounts: z.array(
      z.object({
        accountId: accountIdSchema,
        ok: z.boolean(),
        arn: z
          .string()
          .optional()
          .meta({ description: 'The provisioner role session in that account, when reachable.' }),
        error: z.string().optional().meta({ description: 'Why the account is not reachable.' }),
      }),
    ),
  })
  .meta({ id: 'Health' });

import * as z from 'zod';
import { bucketNameSchema, eksClusterNameSchema } from './validators';
import { parseWith } from './parse';

/** Query of GET /v1/onboardings. */
export const listOnboardingsQuerySchema = z.strictObject({
  cluster: eksClusterNameSchema
    .optional()
    .meta({ description: 'Only onboardings that include an EKS cluster of this name.' }),
  bucket: bucketNameSchema.optional().meta({ description: 'Only onboardings of this bucket.' }),
  requester: z
    .string()
    .min(1, 'must be 1-2048 characters (requester)')
    .max(2048, 'must be 1-2048 characters (requester)')
    .regex(/^arn:aws[\w-]*:(iam|sts)::\d{12}:[\w+=,.@/-]+$/, 'must be an IAM principal ARN (requester)')
    .optional()
    .meta({ description: 'Only onboardings last requested by this principal (an IAM principal ARN).' }),
  drift: z
    .enum(['true', 'false'], { error: 'must be true or false (drift)' })
    .transform((v) => v === 'true')
    .optional()
    .meta({
      description:
        'true: only onboardings whose last drift sweep found drift (`drift.ok` false); false: only those it found in place. Records not swept yet are in neither.',
    }),
  nextToken: z
    .string()
    .min(1, 'must be 1-2048 characters (nextToken)')
    .max(2048, 'must be 1-2048 characters (nextToken)')
    .regex(/^[A-Za-z0-9+/=_.-]*$/, 'must be a token returned by a previous page (nextToken)')
    .optional()
    .meta({ description: 'Opaque token of the next page, from the previous response.' }),
  // a query value is text: its digits are checked before it becomes a number, so `abc` is named as what it is
  limit: z
    .string()
    .regex(/^(100|[1-9][0-9]?)$/, 'must be an integer from 1 to 100 (limit)')
    .transform(Number)
    .optional()
    .meta({
      description:
        'Maximum items per page (1-100, default 50). Pages are in id order; a page may hold fewer items, even none, and still carry a `nextToken` when records the caller may not see (or `drift` filters out) are skipped: follow `nextToken` until it is absent.',
    }),
});

export type ListOnboardingsQuery = z.output<typeof listOnboardingsQuerySchema>;

/** Validates the query of GET /v1/onboardings. Throws ValidationError. */
export function parseListOnboardingsQuery(query: unknown): ListOnboardingsQuery {
  return parseWith(listOnboardingsQuerySchema, query ?? {}, 'The query');
}

/**
 * The IAM policy language as stored JSON. These types describe a document that has passed
 * `validatePolicy`; before that, treat a parsed document as `unknown`.
 */

/** The principal element: `"*"` or a map of principal kinds to one or more values. */
export type Principal =
  | '*'
  | {
      AWS?: string | string[];
      Federated?: string | string[];
      Service?: string | string[];
      /** Accepted in S3 bucket policies; the emulator never matches it against a caller. */
      CanonicalUser?: string | string[];
    };

/** One value (or several) of a condition key. JSON booleans and numbers are compared as their string form. */
type ConditionValue = string | number | boolean | (string | number | boolean)[];

/** `{ "StringEquals": { "aws:PrincipalArn": "arn:..." } }`: operator -> key -> value(s). */
export type ConditionBlock = Record<string, Record<string, ConditionValue>>;

export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: Principal;
  NotPrincipal?: Principal;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: ConditionBlock;
}

export interface PolicyDocument {
  Version?: string;
  Id?: string;
  Statement: Statement | Statement[];
}

/** Where a policy is used; decides which elements are required or forbidden. */
export type PolicyKind = 'identity' | 'resource' | 'trust' | 'bucket' | 'key';

import type { PolicyDocument as AnyPolicyDocument, Statement as AnyStatement } from '../iam-policy/types';

/**
 * The documents the service writes: the IAM policy language (lib/iam-policy/types.ts, which the evaluator and the
 * emulator read), narrowed to what the service itself emits: a dated version, a list of statements, each naming
 * its actions, with string-valued conditions and no NotAction, NotResource or NotPrincipal.
 */

export interface Statement extends AnyStatement {
  Principal?: '*' | { AWS?: string | string[]; Federated?: string | string[]; Service?: string | string[] };
  Action: string | string[];
  NotAction?: never;
  NotResource?: never;
  NotPrincipal?: never;
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument extends AnyPolicyDocument {
  Version: '2012-10-17';
  Statement: Statement[];
}

export const document = (statements: Statement[]): PolicyDocument => ({ Version: '2012-10-17', Statement: statements });

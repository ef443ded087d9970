import { readFileSync } from 'node:fs';
import { yamlLib } from '../yaml';
import type * as z from 'zod';
import type { FieldError } from '../errors';
import { formatPath } from '../onboarding/request/parse';
import { guardrailsSchema, type Guardrails, type GuardrailsInput } from './schema';
import { accountOfArn } from '../arn';

/** Name of the one rule of `allowAllFromTopology`. */
const LOCAL_ALLOW_ALL = 'local-allow-all';

/** A guardrails file that cannot be read, parsed or validated; `issues` holds the zod issues as data. */
export class GuardrailsFileError extends Error {
  constructor(
    message: string,
    readonly issues: FieldError[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'GuardrailsFileError';
  }
}

/** zod issues as `{ path, message }`, the nested reason of a bad record key included. */
function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => {
    const nested = issue.code === 'invalid_key' ? issue.issues.map((i) => i.message).join('; ') : '';
    return { path: formatPath(issue.path), message: nested || issue.message };
  });
}

function invalid(source: string, error: z.ZodError): GuardrailsFileError {
  const issues = fieldErrors(error);
  const lines = issues.map((i) => `  ${i.path || '(file)'}: ${i.message}`);
  return new GuardrailsFileError(`guardrails file ${source} is invalid:\n${lines.join('\n')}`, issues);
}

/** Validates a guardrails document already parsed from YAML or JSON; `source` names it in errors. */
function validateGuardrails(doc: unknown, source: string): Guardrails {
  if (doc === null || doc === undefined) throw new GuardrailsFileError(`guardrails file ${source} is empty`);
  const result = guardrailsSchema.safeParse(doc);
  if (!result.success) throw invalid(source, result.error);
  return result.data;
}

/** Parses guardrails text (YAML 1.2, so JSON too); `source` names it in errors. */
export function parseGuardrails(text: string, source: string): Guardrails {
  let doc: unknown;
  try {
    doc = yamlLib().parse(text, { prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    const reason = err instanceof yamlLib().YAMLParseError || err instanceof Error ? err.message : String(err);
    throw new GuardrailsFileError(`guardrails file ${source} is not valid YAML or JSON: ${reason}`, [], { cause: err });
  }
  return validateGuardrails(doc, source);
}

/**
 * Reads and validates the guardrails file at `path` (YAML or JSON). Meant for cold start: throws a
 * GuardrailsFileError naming the file and every problem, so a bad file stops the function instead of
 * serving with the wrong bounds.
 */
export function loadGuardrails(path: string): Guardrails {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));
    throw new GuardrailsFileError(`guardrails file ${path} cannot be read: ${reason}`, [], { cause: err });
  }
  return parseGuardrails(text, path);
}

/** The part of a topology file (contract section 2) that `allowAllFromTopology` reads. */
export interface TopologyBounds {
  accounts: string[];
  kmsKeys?: { arn: string }[];
}

/**
 * The guardrails of the local stack without a GUARDRAILS file: one rule, `local-allow-all`, that lets every
 * caller onboard every cluster, namespace, instance role and bucket of the given accounts, in every tool,
 * access level and cross-account mode. Pass the topology itself to also allow its KMS keys (keys are
 * exact ARNs; a bare account list allows none). Anything outside those accounts is still refused.
 */
export function allowAllFromTopology(topology: string[] | TopologyBounds): Guardrails {
  const accounts = [...new Set(Array.isArray(topology) ? topology : topology.accounts)];
  const keys = Array.isArray(topology) ? [] : (topology.kmsKeys ?? []).map((k) => k.arn);
  const kmsKeys = [...new Set(keys)].filter((arn) => accounts.includes(accountOfArn(arn)));
  const doc: GuardrailsInput = {
    version: 1,
    accounts: Object.fromEntries(accounts.map((a) => [a, {}])),
    rules: [
      {
        name: LOCAL_ALLOW_ALL,
        description: 'local stack without a GUARDRAILS file: everything in the loaded topology',
        callers: ['*'],
        accounts,
        clusters: accounts.map((a) => `${a}/*/*`),
        namespaces: '*',
        buckets: accounts.map((a) => ({ name: '*', accountId: a })),
        ec2InstanceRoles: ['*'],
        ...(kmsKeys.length > 0 ? { kmsKeys } : {}),
      },
    ],
  };
  return validateGuardrails(doc, '(allow-all from topology)');
}

import { parse } from 'yaml';
import { readFileSync } from 'node:fs';

/** CloudFormation short-form tags (`!Ref`, `!Sub`, …) read as their long forms. */
const shortTags = [
  'Ref',
  'Sub',
  'GetAtt',
  'Join',
  'Select',
  'Split',
  'If',
  'Equals',
  'Not',
  'And',
  'Or',
  'ImportValue',
  'FindInMap',
  'Base64',
  'GetAZs',
  'Condition',
].flatMap((name) => {
  const key = name === 'Ref' || name === 'Condition' ? name : `Fn::${name}`;
  const resolve = (v: unknown) => ({ [key]: name === 'GetAtt' && typeof v === 'string' ? v.split('.') : v });
  return [
    { tag: `!${name}`, resolve: (s: string) => resolve(s) },
    { tag: `!${name}`, collection: 'seq' as const, resolve: (seq: { toJSON(): unknown }) => resolve(seq.toJSON()) },
    { tag: `!${name}`, collection: 'map' as const, resolve: (map: { toJSON(): unknown }) => resolve(map.toJSON()) },
  ];
});

export function readTemplate(file: string): CfnTemplate {
  return parse(readFileSync(file, 'utf8'), { customTags: shortTags as never }) as CfnTemplate;
}

export interface CfnTemplate {
  Parameters?: Record<string, { Default?: string }>;
  /** named conditions (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition), for Fn::If */
  Conditions?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

export class Unresolvable extends Error {}

/**
 * Resolves the intrinsic functions the project's templates use, for one account. Refs to resources resolve to
 * their physical ids through `refs`; anything else throws Unresolvable.
 */
export function resolve(
  value: unknown,
  vars: Record<string, string>,
  refs: Record<string, string> = {},
  conditions: Record<string, unknown> = {},
): unknown {
  const again = (v: unknown) => resolve(v, vars, refs, conditions);
  if (Array.isArray(value)) return value.map(again).filter((v) => v !== NO_VALUE);
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 1) {
      const [k, v] = entries[0];
      if (k === 'Ref') {
        const name = String(v);
        if (name === 'AWS::NoValue') return NO_VALUE;
        if (name in vars) return vars[name];
        if (name in refs) return refs[name];
        throw new Unresolvable(`Ref ${name}`);
      }
      if (k === 'Fn::Sub') {
        const [tpl, local] = Array.isArray(v) ? [String(v[0]), v[1] as Record<string, unknown>] : [String(v), {}];
        return tpl.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
          if (local && name in local) return String(again(local[name]));
          if (name in vars) return vars[name];
          if (name in refs) return refs[name];
          throw new Unresolvable(`Sub \${${name}}`);
        });
      }
      if (k === 'Fn::Join') {
        const [sep, parts] = v as [string, unknown[]];
        return (again(parts) as unknown[]).join(sep);
      }
      if (k === 'Fn::If') {
        const [name, yes, no] = v as [string, unknown, unknown];
        return again(condition(name, vars, refs, conditions) ? yes : no);
      }
      if (k.startsWith('Fn::')) throw new Unresolvable(k);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, again(v)]).filter(([, v]) => v !== NO_VALUE));
  }
  return value;
}

/** `Ref: AWS::NoValue`: the property (or list item) is left out. */
const NO_VALUE = Symbol('AWS::NoValue');

/** A named condition of the template's Conditions section, evaluated with the same parameters. */
function condition(
  name: string,
  vars: Record<string, string>,
  refs: Record<string, string>,
  conditions: Record<string, unknown>,
): boolean {
  const evaluate = (c: unknown): boolean => {
    const [[fn, arg]] = Object.entries(c as Record<string, unknown>);
    const args = arg as unknown[];
    if (fn === 'Fn::Equals')
      return String(resolve(args[0], vars, refs, conditions)) === String(resolve(args[1], vars, refs, conditions));
    if (fn === 'Fn::Not') return !evaluate(args[0]);
    if (fn === 'Fn::And') return args.every(evaluate);
    if (fn === 'Fn::Or') return args.some(evaluate);
    if (fn === 'Condition') return condition(String(arg), vars, refs, conditions);
    throw new Unresolvable(`condition ${name}: ${fn}`);
  };
  if (!(name in conditions)) throw new Unresolvable(`Condition ${name}`);
  return evaluate(conditions[name]);
}

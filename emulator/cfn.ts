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
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
}

export class Unresolvable extends Error {}

/**
 * Resolves the intrinsic functions the project's templates use, for one account. Refs to resources resolve to
 * their physical ids through `refs`; anything else throws Unresolvable.
 */
export function resolve(value: unknown, vars: Record<string, string>, refs: Record<string, string> = {}): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, vars, refs));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 1) {
      const [k, v] = entries[0];
      if (k === 'Ref') {
        const name = String(v);
        if (name in vars) return vars[name];
        if (name in refs) return refs[name];
        throw new Unresolvable(`Ref ${name}`);
      }
      if (k === 'Fn::Sub') {
        const [tpl, local] = Array.isArray(v) ? [String(v[0]), v[1] as Record<string, unknown>] : [String(v), {}];
        return tpl.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
          if (local && name in local) return String(resolve(local[name], vars, refs));
          if (name in vars) return vars[name];
          if (name in refs) return refs[name];
          throw new Unresolvable(`Sub \${${name}}`);
        });
      }
      if (k === 'Fn::Join') {
        const [sep, parts] = v as [string, unknown[]];
        return (resolve(parts, vars, refs) as unknown[]).join(sep);
      }
      if (k.startsWith('Fn::')) throw new Unresolvable(k);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, resolve(v, vars, refs)]));
  }
  return value;
}

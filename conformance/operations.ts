/**
 * The AWS operations the service calls, read from its code (lib/ and handlers/), never listed by hand: every
 * `new XCommand(…)` (and `paginateX(…)`) whose class comes from an `@aws-sdk/client-*` package or the DynamoDB
 * document client. `npx tsx conformance/operations.ts` prints the list.
 */
import path from 'node:path';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import ts from 'typescript';

export const REPO_ROOT = path.resolve(__dirname, '..');
/** The service's own code: what runs in the Lambda functions. */
export const SERVICE_DIRS = ['lib', 'handlers'];

export interface Operation {
  /** SigV4 signing name: iam, sts, s3, eks, kms, dynamodb, … */
  service: string;
  /** the API operation name, as AWS's models spell it */
  operation: string;
  /** where the code calls it (file:line) */
  sites: string[];
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) return files(p);
    return /\.ts$/.test(f) && !/\.d\.ts$/.test(f) ? [p] : [];
  });
}

const serviceOfPackage = (pkg: string): string | undefined => {
  if (pkg === '@aws-sdk/lib-dynamodb') return 'dynamodb';
  const m = /^@aws-sdk\/client-([a-z0-9-]+)$/.exec(pkg);
  // the SigV4 signing name where it is not the package's (the call log, the recorder and botocore name services by it)
  return m
    ? ((
        { eventbridge: 'events', 's3-control': 's3control', 'service-quotas': 'servicequotas' } as Record<
          string,
          string
        >
      )[m[1]] ?? m[1])
    : undefined;
};

/** The DynamoDB document client's commands wrap the low-level ones: read which, from the library itself. */
function documentClientOperation(className: string): string {
  const lib = require('@aws-sdk/lib-dynamodb') as Record<
    string,
    new (input: unknown) => { clientCommand?: { constructor: { name: string } } }
  >;
  const Cls = lib[className];
  const inner = Cls ? new Cls({}).clientCommand?.constructor.name : undefined;
  if (!inner) throw new Error(`@aws-sdk/lib-dynamodb has no command ${className}`);
  return inner.replace(/Command$/, '');
}

/** Every AWS operation the service's code calls, sorted by service and operation. */
export function serviceOperations(root = REPO_ROOT): Operation[] {
  const found = new Map<string, Operation>();
  const sources = SERVICE_DIRS.flatMap((d) => files(path.join(root, d))).map((file) => ({
    file,
    src: ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true),
  }));
  // loaders of packages loaded on first use (lib/aws/lazy.ts): `const x = () => require('@aws-sdk/client-…')`
  const loaders = new Map<string, string>();
  for (const { src } of sources)
    for (const st of src.statements) {
      if (!ts.isVariableStatement(st)) continue;
      for (const d of st.declarationList.declarations) {
        const body = d.initializer && ts.isArrowFunction(d.initializer) ? d.initializer.body : undefined;
        if (
          ts.isIdentifier(d.name) &&
          body &&
          ts.isCallExpression(body) &&
          ts.isIdentifier(body.expression) &&
          body.expression.text === 'require' &&
          body.arguments[0] &&
          ts.isStringLiteral(body.arguments[0]) &&
          serviceOfPackage(body.arguments[0].text)
        )
          loaders.set(d.name.text, body.arguments[0].text);
      }
    }
  for (const { file, src } of sources) {
    // local name → { package, exported name }; namespace imports → package
    const named = new Map<string, { pkg: string; name: string }>();
    const namespaces = new Map<string, string>();
    for (const st of src.statements) {
      if (!ts.isImportDeclaration(st) || !ts.isStringLiteral(st.moduleSpecifier)) continue;
      const pkg = st.moduleSpecifier.text;
      if (!serviceOfPackage(pkg)) continue;
      const b = st.importClause?.namedBindings;
      if (b && ts.isNamedImports(b))
        for (const el of b.elements) named.set(el.name.text, { pkg, name: (el.propertyName ?? el.name).text });
      if (b && ts.isNamespaceImport(b)) namespaces.set(b.name.text, pkg);
    }
    const add = (pkg: string, exported: string, node: ts.Node) => {
      const service = serviceOfPackage(pkg)!;
      let operation: string | undefined;
      if (/Command$/.test(exported))
        operation =
          pkg === '@aws-sdk/lib-dynamodb' ? documentClientOperation(exported) : exported.replace(/Command$/, '');
      else if (/^paginate[A-Z]/.test(exported)) operation = exported.replace(/^paginate/, '');
      if (!operation) return;
      const key = `${service}:${operation}`;
      const line = src.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      const site = `${path.relative(root, file)}:${line}`;
      const op = found.get(key) ?? { service, operation, sites: [] };
      op.sites.push(site);
      found.set(key, op);
    };
    const visit = (node: ts.Node): void => {
      if (ts.isNewExpression(node) || ts.isCallExpression(node)) {
        const callee = node.expression;
        if (ts.isIdentifier(callee) && named.has(callee.text)) {
          const imp = named.get(callee.text)!;
          add(imp.pkg, imp.name, node);
        } else if (
          ts.isPropertyAccessExpression(callee) &&
          ts.isIdentifier(callee.expression) &&
          namespaces.has(callee.expression.text)
        ) {
          add(namespaces.get(callee.expression.text)!, callee.name.text, node);
        } else {
          // `new (s3ControlSdk().XCommand)(…)`: a command of a package loaded on first use
          const inner = ts.isParenthesizedExpression(callee) ? callee.expression : callee;
          if (
            ts.isPropertyAccessExpression(inner) &&
            ts.isCallExpression(inner.expression) &&
            ts.isIdentifier(inner.expression.expression) &&
            loaders.has(inner.expression.expression.text)
          )
            add(loaders.get(inner.expression.expression.text)!, inner.name.text, node);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(src);
  }
  return [...found.values()].sort(
    (a, b) => a.service.localeCompare(b.service) || a.operation.localeCompare(b.operation),
  );
}

if (require.main === module) {
  const ops = serviceOperations();
  for (const o of ops) process.stdout.write(`${o.service.padEnd(9)} ${o.operation.padEnd(34)} ${o.sites.join(', ')}\n`);
  process.stdout.write(`${ops.length} operations\n`);
}

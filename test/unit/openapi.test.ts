import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { buildOpenApiDocument, OPENAPI_FILE, renderOpenApiYaml } from '../../scripts/openapi';

type Node = Record<string, unknown>;

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
const committed = readFileSync(OPENAPI_FILE, 'utf8');
const doc = parse(committed) as Node;
const paths = doc.paths as Record<string, Record<string, Node>>;

const operations = (): Array<[string, string, Node]> =>
  Object.entries(paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => HTTP_METHODS.includes(method))
      .map(([method, op]): [string, string, Node] => [path, method, op]),
  );

/** Every `$ref` anywhere in a value, with where it was found. */
function refs(value: unknown, at = '#'): Array<[string, string]> {
  if (Array.isArray(value)) return value.flatMap((v, i) => refs(v, `${at}/${i}`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Node).flatMap(([k, v]) =>
    k === '$ref' && typeof v === 'string' ? [[at, v] as [string, string]] : refs(v, `${at}/${k}`),
  );
}

/** Resolves a local JSON pointer (`#/components/schemas/X`) in the document. */
function resolve(ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  return ref
    .slice(2)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Node)[key] : undefined), doc);
}

describe('Document: openapi.yaml', () => {
  it('is exactly what scripts/openapi.ts generates (run `npm run openapi` after changing a schema)', () => {
    expect(committed).toBe(renderOpenApiYaml());
  });

  it('parses to the generated document', () => {
    expect(doc).toStrictEqual(JSON.parse(JSON.stringify(buildOpenApiDocument())));
  });

  it('is OpenAPI 3.1 with every route of the contract', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(
      operations()
        .map(([path, method]) => `${method.toUpperCase()} ${path}`)
        .sort(),
    ).toEqual([
      'DELETE /v1/onboardings/{id}',
      'GET /v1/health',
      'GET /v1/onboardings',
      'GET /v1/onboardings/{id}',
      'POST /v1/onboardings',
      'POST /v1/onboardings/{id}/verify',
    ]);
  });

  it('gives every operation a unique operationId', () => {
    const ids = operations().map(([, , op]) => op.operationId);
    expect(ids.every((id) => typeof id === 'string' && id.length > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it.each(operations())('%s %s documents its responses, each with a description', (_path, _method, op) => {
    const responses = op.responses as Record<string, Node>;
    expect(Object.keys(responses).length).toBeGreaterThan(0);
    for (const [status, response] of Object.entries(responses)) {
      expect(status).toMatch(/^[1-5]\d\d$/);
      expect(typeof response.description).toBe('string');
    }
  });

  it.each(operations())(
    '%s %s answers errors as application/problem+json with the Problem schema',
    (path, _method, op) => {
      const responses = op.responses as Record<string, Node>;
      for (const [status, response] of Object.entries(responses)) {
        if (Number(status) < 400 || op.operationId === 'getHealth') continue;
        expect(response.content).toStrictEqual({
          'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
        });
      }
      // an operation on one onboarding can name one that does not exist
      if (path.includes('{id}')) expect(Object.keys(responses)).toContain('404');
    },
  );

  it.each(operations())('%s %s declares each path parameter of its template', (path, _method, op) => {
    const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
    const declared = ((op.parameters as Node[] | undefined) ?? []).filter((p) => p.in === 'path');
    expect(declared.map((p) => p.name).sort()).toEqual(inPath.sort());
    for (const p of declared) expect(p.required).toBe(true);
  });

  it('takes Idempotency-Key on POST /v1/onboardings and DELETE /v1/onboardings/{id} only', () => {
    const withKey = operations()
      .filter(([, , op]) =>
        ((op.parameters as Node[] | undefined) ?? []).some((p) => p.in === 'header' && p.name === 'Idempotency-Key'),
      )
      .map(([path, method]) => `${method.toUpperCase()} ${path}`);
    expect(withKey.sort()).toEqual(['DELETE /v1/onboardings/{id}', 'POST /v1/onboardings']);
  });

  it('documents 200/201 and 400/403/409/413/415/500 for POST /v1/onboardings', () => {
    expect(Object.keys(paths['/v1/onboardings']!.post!.responses as Node)).toEqual(
      expect.arrayContaining(['200', '201', '400', '403', '409', '413', '415', '500']),
    );
  });

  it('resolves every $ref', () => {
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(10);
    const broken = all.filter(([, ref]) => resolve(ref) === undefined);
    expect(broken).toEqual([]);
  });

  it('uses every component schema', () => {
    const used = new Set(refs(doc).map(([, ref]) => ref));
    const schemas = Object.keys((doc.components as Node).schemas as Node);
    expect(schemas.filter((name) => !used.has(`#/components/schemas/${name}`))).toEqual([]);
  });

  it('secures every operation with SigV4 and says that local requests are unsigned', () => {
    const schemes = (doc.components as Node).securitySchemes as Record<string, Node>;
    expect(schemes.awsSigV4).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
      'x-amazon-apigateway-authtype': 'awsSigv4',
    });
    expect(schemes.awsSigV4!.description).toMatch(/not signed/);
    expect(doc.security).toStrictEqual([{ awsSigV4: [] }]);
  });

  describe('schemas, checked with a JSON Schema 2020-12 validator', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema({ $id: 'openapi', components: doc.components as Node }, 'openapi');
    const validate = (name: string, value: unknown): unknown => {
      const check = ajv.getSchema(`openapi#/components/schemas/${name}`)!;
      return check(value) ? [] : check.errors;
    };

    const dir = join(__dirname, '..', '..', 'examples', 'requests');
    it.each(readdirSync(dir).filter((f) => f.endsWith('.json')))(
      'accept examples/requests/%s as an OnboardingRequest',
      (file) => {
        expect(validate('OnboardingRequest', JSON.parse(readFileSync(join(dir, file), 'utf8')))).toEqual([]);
      },
    );

    it('refuse an unknown field and a bad bucket name in an OnboardingRequest', () => {
      const body = JSON.parse(readFileSync(join(dir, 'velero.json'), 'utf8')) as Node;
      expect(validate('OnboardingRequest', { ...body, extra: 1 })).not.toEqual([]);
      expect(
        validate('OnboardingRequest', { ...body, bucket: { ...(body.bucket as Node), name: 'xn--bucket' } }),
      ).not.toEqual([]);
      expect(validate('OnboardingRequest', { ...body, tags: { 'aws:x': 'y' } })).not.toEqual([]);
    });

    it('accept a problem body', () => {
      expect(
        validate('Problem', {
          type: 'https://s3-onboarding.dev/problems/validation',
          title: 'Validation failed',
          status: 400,
          detail: 'x',
          errors: [{ path: 'bucket.name', message: 'y' }],
          requestId: 'r',
        }),
      ).toEqual([]);
    });
  });
});

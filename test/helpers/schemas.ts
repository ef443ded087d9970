/**
 * Validation of rendered snippets against the consumer schemas in ../shared/schemas (beside the repo root).
 * Ajv 2020 + ajv-formats, strict mode, with the Kubernetes extension keyword registered (SOURCES.md,
 * "Notes for validators"). Reusable by any test: `validateSnippet(fileName, text)` returns error messages,
 * empty when the snippet is valid.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { parse, parseAllDocuments } from 'yaml';

export const SCHEMA_DIR = path.resolve(__dirname, '../../../shared/schemas');

type Json = Record<string, unknown>;

export function loadSchemaFile(name: string): Json {
  return JSON.parse(readFileSync(path.join(SCHEMA_DIR, name), 'utf8')) as Json;
}

export function createAjv(): Ajv2020 {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  ajv.addKeyword('x-kubernetes-map-type');
  return ajv;
}

// ---------- PBM: a JSON Schema derived from pbm-s3-config.fields.json ----------

interface PbmField {
  path: string;
  type: string;
  requiredByStruct: boolean;
  enum?: string[];
  format?: string;
  notes?: string;
}

type ObjectSchema = Json & { properties: Record<string, Json>; required: string[] };

function objectSchema(): ObjectSchema {
  return { type: 'object', properties: {}, required: [], additionalProperties: false };
}

function leafSchema(field: PbmField): Json {
  switch (field.type) {
    case 'object':
      return objectSchema();
    case 'object<string,string>':
      return { type: 'object', additionalProperties: { type: 'string' } };
    case 'integer|string':
      // anyOf rather than a union `type`, which Ajv's strict mode refuses.
      return { anyOf: [{ type: 'integer' }, { type: 'string' }] };
    case 'string':
    case 'integer':
    case 'number':
    case 'boolean': {
      const schema: Json = { type: field.type };
      if (field.format !== undefined) schema.format = field.format;
      if (field.enum !== undefined) {
        // A comma-separated list of enum values (debugLogLevels) vs a single enum value.
        if (field.notes?.includes('comma-separated')) {
          const one = `(${field.enum.join('|')})`;
          schema.pattern = `^${one}(,${one})*$`;
        } else {
          schema.enum = field.enum;
        }
      }
      return schema;
    }
    default:
      throw new Error(`pbm-s3-config.fields.json: unknown field type ${field.type} at ${field.path}`);
  }
}

/** Builds the nested schema from the flat field list: every listed path allowed, nothing else. */
export function pbmConfigSchema(
  fields: readonly PbmField[] = loadSchemaFile('pbm-s3-config.fields.json').fields as PbmField[],
): Json {
  const root = objectSchema();
  const byPath = new Map<string, Json>([['', root]]);
  for (const field of [...fields].sort((a, b) => a.path.split('.').length - b.path.split('.').length)) {
    const segments = field.path.split('.');
    const key = segments.pop() as string;
    const parent = byPath.get(segments.join('.')) as ObjectSchema | undefined;
    if (parent === undefined || parent.properties === undefined) {
      throw new Error(`pbm-s3-config.fields.json: no object parent for ${field.path}`);
    }
    const schema = leafSchema(field);
    parent.properties[key] = schema;
    if (field.requiredByStruct) parent.required.push(key);
    byPath.set(field.path, schema);
  }
  return root;
}

// ---------- compiled validators ----------

interface Validators {
  pbm: ValidateFunction;
  psmdbStorages: ValidateFunction;
  sgObjectStorage: ValidateFunction;
  veleroBsl: ValidateFunction;
  veleroConfig: ValidateFunction;
  mountpointVolumeAttributes: ValidateFunction;
}

let cached: Validators | undefined;

/** Compiles every schema once (and proves they all compile in strict mode). */
export function validators(): Validators {
  if (cached !== undefined) return cached;
  const ajv = createAjv();
  const velero = loadSchemaFile('velero-aws-config-keys.json');
  const mountpoint = loadSchemaFile('mountpoint-pv-volumeattributes.json');
  cached = {
    pbm: ajv.compile(pbmConfigSchema()),
    psmdbStorages: ajv.compile(loadSchemaFile('psmdb-backup-storages.schema.json')),
    sgObjectStorage: ajv.compile(loadSchemaFile('sgobjectstorage.schema.json')),
    veleroBsl: ajv.compile(loadSchemaFile('velero-bsl.schema.json')),
    veleroConfig: ajv.compile(velero.jsonSchemaForSpecConfig as Json),
    mountpointVolumeAttributes: ajv.compile(mountpoint.volumeAttributesJsonSchema as Json),
  };
  return cached;
}

function ajvErrors(where: string, validate: ValidateFunction, data: unknown): string[] {
  if (validate(data)) return [];
  return (validate.errors ?? []).map(
    (e: ErrorObject) =>
      `${where}${e.instancePath || '/'} ${e.message ?? e.keyword}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`,
  );
}

function get(value: unknown, ...keys: string[]): unknown {
  let current = value;
  for (const key of keys) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Json)[key];
  }
  return current;
}

function check(condition: boolean, message: string): string[] {
  return condition ? [] : [message];
}

function yamlDocs(text: string): unknown[] {
  const docs = parseAllDocuments(text);
  const errors = docs.flatMap((d) => d.errors);
  if (errors.length > 0) throw new Error(`invalid YAML: ${errors.map((e) => e.message).join('; ')}`);
  return docs.map((d) => d.toJS() as unknown);
}

// ---------- per-file checks ----------

const ROLE_ARN = /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

const SERVICE_ACCOUNT_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'v1' },
    kind: { const: 'ServiceAccount' },
    metadata: {
      type: 'object',
      required: ['name', 'namespace', 'annotations'],
      additionalProperties: false,
      properties: {
        name: { type: 'string', minLength: 1 },
        namespace: { type: 'string', minLength: 1 },
        annotations: {
          type: 'object',
          required: ['eks.amazonaws.com/role-arn'],
          additionalProperties: false,
          properties: {
            'eks.amazonaws.com/role-arn': { type: 'string', pattern: ROLE_ARN.source },
            'eks.amazonaws.com/sts-regional-endpoints': { const: 'true' },
          },
        },
      },
    },
  },
};

let saValidator: ValidateFunction | undefined;

function validateServiceAccounts(text: string): string[] {
  saValidator ??= createAjv().compile(SERVICE_ACCOUNT_SCHEMA);
  const docs = yamlDocs(text);
  return [
    ...check(docs.length > 0, 'serviceaccount.yaml: no documents'),
    ...docs.flatMap((doc, i) => ajvErrors(`serviceaccount.yaml[${i}]`, saValidator as ValidateFunction, doc)),
  ];
}

function validateAnnotateScript(text: string): string[] {
  const lines = text.split('\n');
  const syntax = spawnSync('sh', ['-n'], { input: text, encoding: 'utf8' });
  return [
    ...check(lines[0] === '#!/bin/sh', 'annotate.sh: first line must be #!/bin/sh'),
    ...check(lines.includes('set -eu'), 'annotate.sh: missing set -eu'),
    ...check(text.endsWith('\n'), 'annotate.sh: must end with a newline'),
    ...check(
      lines.some((l) => l.startsWith('kubectl annotate serviceaccount ')),
      'annotate.sh: no kubectl annotate',
    ),
    // the same annotations as serviceaccount.yaml, on every command
    ...check(
      (
        text.match(/'eks\.amazonaws\.com\/role-arn=[^'\n]*' 'eks\.amazonaws\.com\/sts-regional-endpoints=true'\n/g) ??
        []
      ).length === (text.match(/^kubectl annotate serviceaccount /gm) ?? []).length,
      'annotate.sh: a command omits eks.amazonaws.com/sts-regional-endpoints=true',
    ),
    ...check(syntax.status === 0, `annotate.sh: sh -n failed: ${syntax.stderr}`),
  ];
}

/** KEY=VALUE lines of an environment file (comments and blank lines skipped). */
export function envFileVariables(text: string): Map<string, string> {
  return new Map(
    text
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => {
        const [k, ...v] = l.split('=');
        return [k as string, v.join('=')] as const;
      }),
  );
}

const PROFILE_NAME = /^[A-Za-z0-9_.+-]{1,64}$/;

/**
 * pbm-agent.env selects a shared-config profile: exactly AWS_CONFIG_FILE (an absolute path) and AWS_PROFILE. The
 * SDKs read AWS_ROLE_ARN only with a web-identity token file, and AWS_SESSION_NAME not at all, so neither may appear.
 */
function validatePbmAgentEnv(text: string): string[] {
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  const vars = envFileVariables(text);
  return [
    ...check(lines.length === vars.size, 'pbm-agent.env: duplicate variables'),
    ...check(text.endsWith('\n'), 'pbm-agent.env: must end with a newline'),
    ...[...vars.keys()]
      .filter((k) => k !== 'AWS_CONFIG_FILE' && k !== 'AWS_PROFILE')
      .map((k) => `pbm-agent.env: unexpected variable ${k}`),
    ...check(
      /^\/[\w./-]+$/.test(vars.get('AWS_CONFIG_FILE') ?? ''),
      'pbm-agent.env: AWS_CONFIG_FILE is not an absolute path',
    ),
    ...check(PROFILE_NAME.test(vars.get('AWS_PROFILE') ?? ''), 'pbm-agent.env: bad AWS_PROFILE'),
  ];
}

/** Sections and keys of an AWS shared config file (comments and blank lines skipped; no sub-sections). */
export function awsConfigSections(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[([^\]]+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1] as string, current);
    } else if (current !== undefined && line.includes('=')) {
      current.set(line.slice(0, line.indexOf('=')).trim(), line.slice(line.indexOf('=') + 1).trim());
    } else {
      throw new Error(`aws-config: line outside a section or without =: ${line}`);
    }
  }
  return sections;
}

/** aws-config: one `[profile NAME]` assuming a role with the instance role's credentials, and nothing else. */
function validateAwsConfig(text: string): string[] {
  const sections = awsConfigSections(text);
  const [name, keys] = [...sections.entries()][0] ?? ['', new Map<string, string>()];
  const profile = /^profile (.+)$/.exec(name)?.[1] ?? '';
  return [
    ...check(sections.size === 1, 'aws-config: must hold exactly one section'),
    ...check(PROFILE_NAME.test(profile), 'aws-config: the section must be [profile NAME] (a non-default profile)'),
    ...[...keys.keys()]
      .filter((k) => !['role_arn', 'credential_source', 'role_session_name'].includes(k))
      .map((k) => `aws-config: unexpected key ${k}`),
    ...check(ROLE_ARN.test(keys.get('role_arn') ?? ''), 'aws-config: role_arn is not a role ARN'),
    ...check(
      keys.get('credential_source') === 'Ec2InstanceMetadata',
      'aws-config: credential_source must be Ec2InstanceMetadata',
    ),
    ...check(/^[\w+=,.@-]{2,64}$/.test(keys.get('role_session_name') ?? ''), 'aws-config: bad role_session_name'),
    ...check(!/[#;]/.test([...keys.values()].join('')), 'aws-config: a value holds a comment character'),
  ];
}

function validatePbmConfig(text: string): string[] {
  const config = parse(text) as unknown;
  return [
    ...ajvErrors('pbm-config.yaml', validators().pbm, config),
    ...check(get(config, 'storage', 'type') === 's3', 'pbm-config.yaml: storage.type must be s3'),
    ...check(get(config, 'storage', 's3', 'credentials') === undefined, 'pbm-config.yaml: must hold no credentials'),
  ];
}

function validatePsmdbStorages(text: string): string[] {
  const patch = parse(text) as unknown;
  const storages = get(patch, 'spec', 'backup', 'storages');
  const entries = typeof storages === 'object' && storages !== null ? Object.values(storages as Json) : [];
  return [
    ...check(Object.keys(patch as Json).join() === 'spec', 'psmdb: root must hold only spec'),
    ...check(Object.keys(get(patch, 'spec') as Json).join() === 'backup', 'psmdb: spec must hold only backup'),
    ...check(
      Object.keys(get(patch, 'spec', 'backup') as Json).join() === 'storages',
      'psmdb: backup must hold only storages',
    ),
    ...ajvErrors('psmdb-backup-storages.yaml:spec.backup.storages', validators().psmdbStorages, storages),
    ...check(entries.length > 0, 'psmdb: no storage'),
    ...entries.flatMap((s) => [
      ...check(get(s, 'type') === 's3', 'psmdb: storage type must be s3'),
      ...check(
        get(s, 'main') === true,
        'psmdb: the storage must be main: true (crVersion 1.20 rejects several storages without one)',
      ),
      ...check(get(s, 's3', 'credentialsSecret') === undefined, 'psmdb: no credentialsSecret with IRSA'),
      ...check(
        get(s, 's3', 'serverSideEncryption') === undefined,
        'psmdb: the operator drops serverSideEncryption with IRSA',
      ),
    ]),
  ];
}

function validateSgObjectStorage(text: string): string[] {
  const sg = parse(text) as unknown;
  const spec = get(sg, 'spec') as Json | undefined;
  return [
    ...ajvErrors('sgobjectstorage.yaml', validators().sgObjectStorage, sg),
    ...check(get(sg, 'apiVersion') === 'stackgres.io/v1beta1', 'stackgres: apiVersion must be stackgres.io/v1beta1'),
    ...check(get(sg, 'kind') === 'SGObjectStorage', 'stackgres: kind must be SGObjectStorage'),
    // The admission webhook rule written in the schema's $comment (ObjectStorageTypeValidator).
    ...check(get(spec, 'type') === 's3', 'stackgres: spec.type must be s3'),
    ...check(
      get(spec, 's3', 'awsCredentials', 'useIAMRole') === true,
      'stackgres: awsCredentials.useIAMRole must be true',
    ),
    ...check(get(spec, 's3', 'awsCredentials', 'secretKeySelectors') === undefined, 'stackgres: no secretKeySelectors'),
    ...['s3Compatible', 'gcs', 'azureBlob'].flatMap((k) =>
      check(get(spec, k) === undefined, `stackgres: ${k} must be absent`),
    ),
  ];
}

const SA_ANNOTATIONS_SCHEMA = SERVICE_ACCOUNT_SCHEMA.properties.metadata.properties.annotations;

/** SGCluster fragments: name, namespace and spec.metadata.annotations.serviceAccount (a map of string, StackGres 1.18 CRD), nothing else. */
const SGCLUSTER_FRAGMENT_SCHEMA = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  additionalProperties: false,
  properties: {
    apiVersion: { const: 'stackgres.io/v1' },
    kind: { const: 'SGCluster' },
    metadata: {
      type: 'object',
      required: ['name', 'namespace'],
      additionalProperties: false,
      properties: { name: { type: 'string', minLength: 1 }, namespace: { type: 'string', minLength: 1 } },
    },
    spec: {
      type: 'object',
      required: ['metadata'],
      additionalProperties: false,
      properties: {
        metadata: {
          type: 'object',
          required: ['annotations'],
          additionalProperties: false,
          properties: {
            annotations: {
              type: 'object',
              required: ['serviceAccount'],
              additionalProperties: false,
              properties: { serviceAccount: SA_ANNOTATIONS_SCHEMA },
            },
          },
        },
      },
    },
  },
};

let sgClusterValidator: ValidateFunction | undefined;

function validateSgClusterAnnotations(text: string): string[] {
  sgClusterValidator ??= createAjv().compile(SGCLUSTER_FRAGMENT_SCHEMA);
  const docs = yamlDocs(text);
  return [
    ...check(docs.length > 0, 'sgcluster-annotations.yaml: no documents'),
    ...docs.flatMap((doc, i) =>
      ajvErrors(`sgcluster-annotations.yaml[${i}]`, sgClusterValidator as ValidateFunction, doc),
    ),
  ];
}

/**
 * vmware-tanzu/velero chart values: no credentials secret, and with IRSA the server service account annotated
 * (chart values.yaml keys; EKS Pod Identity needs no annotation, so no serviceAccount).
 */
const VELERO_VALUES_SCHEMA = {
  type: 'object',
  required: ['credentials'],
  additionalProperties: false,
  properties: {
    credentials: {
      type: 'object',
      required: ['useSecret'],
      additionalProperties: false,
      properties: { useSecret: { const: false } },
    },
    serviceAccount: {
      type: 'object',
      required: ['server'],
      additionalProperties: false,
      properties: {
        server: {
          type: 'object',
          required: ['create', 'annotations'],
          additionalProperties: false,
          properties: {
            create: { const: true },
            name: { type: 'string', minLength: 1 },
            annotations: SA_ANNOTATIONS_SCHEMA,
          },
        },
      },
    },
  },
};

const veleroValuesValidators = new Map<boolean, ValidateFunction>();

/** With IRSA (the default) the server service account must be annotated; with EKS Pod Identity it needs nothing. */
function validateVeleroValues(text: string, opts: SnippetOptions = {}): string[] {
  const podIdentity = !!opts.podIdentity;
  let validator = veleroValuesValidators.get(podIdentity);
  if (!validator) {
    validator = createAjv().compile(
      podIdentity ? VELERO_VALUES_SCHEMA : { ...VELERO_VALUES_SCHEMA, required: ['credentials', 'serviceAccount'] },
    );
    veleroValuesValidators.set(podIdentity, validator);
  }
  return ajvErrors('velero-values.yaml', validator, parse(text) as unknown);
}

function validateVeleroBsl(text: string): string[] {
  const bsl = parse(text) as unknown;
  const keys = loadSchemaFile('velero-aws-config-keys.json');
  const providers = String(keys.provider).split(' or ');
  return [
    ...ajvErrors('velero-bsl.yaml', validators().veleroBsl, bsl),
    ...ajvErrors('velero-bsl.yaml:spec.config', validators().veleroConfig, get(bsl, 'spec', 'config') ?? {}),
    ...check(get(bsl, 'apiVersion') === 'velero.io/v1', 'velero: apiVersion must be velero.io/v1'),
    ...check(get(bsl, 'kind') === 'BackupStorageLocation', 'velero: kind must be BackupStorageLocation'),
    ...check(
      providers.includes(String(get(bsl, 'spec', 'provider'))),
      `velero: provider must be one of ${providers.join(', ')}`,
    ),
    ...check(get(bsl, 'spec', 'credential') === undefined, 'velero: spec.credential disables IRSA'),
    ...check(get(bsl, 'spec', 'config', 'credentialsFile') === undefined, 'velero: credentialsFile disables IRSA'),
  ];
}

/** Mount option names the Mountpoint file documents, plus read-only (Mountpoint's --read-only flag). */
export function mountpointAllowedOptions(): Set<string> {
  const described = String(loadSchemaFile('mountpoint-pv-volumeattributes.json').mountOptions);
  const examples = [...described.matchAll(/'([a-z][a-z-]*)[ =']/g)].map((m) => m[1] as string);
  return new Set([...examples, 'read-only']);
}

/** The CSI driver's own parsing (pkg/mountpoint/args.go ParseArgs): split on the first '=', else on a space. */
export function parseMountOption(option: string): { key: string; value: string } {
  const trimmed = option.replace(/^ +| +$/g, '');
  const eq = trimmed.indexOf('=');
  const [key, value] =
    eq >= 0
      ? [trimmed.slice(0, eq), trimmed.slice(eq + 1)]
      : ((sp) => (sp >= 0 ? [trimmed.slice(0, sp), trimmed.slice(sp + 1).replace(/^ +| +$/g, '')] : [trimmed, '']))(
          trimmed.indexOf(' '),
        );
  return { key: key.replace(/^--/, ''), value };
}

function validateMountpointVolume(text: string): string[] {
  const file = loadSchemaFile('mountpoint-pv-volumeattributes.json');
  const docs = yamlDocs(text);
  const pv = docs.find((d) => get(d, 'kind') === 'PersistentVolume');
  const pvc = docs.find((d) => get(d, 'kind') === 'PersistentVolumeClaim');
  if (docs.length !== 2 || pv === undefined || pvc === undefined) {
    return ['mountpoint-pv.yaml: must hold exactly one PersistentVolume and one PersistentVolumeClaim'];
  }
  const allowed = mountpointAllowedOptions();
  const options = get(pv, 'spec', 'mountOptions');
  const parsed = Array.isArray(options) ? options.map((o) => parseMountOption(String(o))) : [];
  const accessModes = get(pv, 'spec', 'accessModes');
  const mode = Array.isArray(accessModes) && accessModes.length === 1 ? accessModes[0] : undefined;
  const prefix = parsed.find((o) => o.key === 'prefix');
  return [
    ...ajvErrors(
      'mountpoint-pv.yaml:volumeAttributes',
      validators().mountpointVolumeAttributes,
      get(pv, 'spec', 'csi', 'volumeAttributes'),
    ),
    ...check(get(pv, 'spec', 'csi', 'driver') === file.driver, `mountpoint: csi.driver must be ${String(file.driver)}`),
    ...check(typeof get(pv, 'spec', 'csi', 'volumeHandle') === 'string', 'mountpoint: volumeHandle missing'),
    ...check(get(pv, 'spec', 'storageClassName') === '', 'mountpoint: PV storageClassName must be ""'),
    ...check(get(pvc, 'spec', 'storageClassName') === '', 'mountpoint: PVC storageClassName must be ""'),
    ...check(typeof get(pv, 'spec', 'capacity', 'storage') === 'string', 'mountpoint: capacity is required'),
    ...check(
      mode === 'ReadWriteMany' || mode === 'ReadOnlyMany',
      'mountpoint: accessModes must be ReadWriteMany or ReadOnlyMany',
    ),
    ...check(
      JSON.stringify(get(pvc, 'spec', 'accessModes')) === JSON.stringify(accessModes),
      'mountpoint: PVC accessModes differ',
    ),
    ...check(
      get(pv, 'spec', 'claimRef', 'name') === get(pvc, 'metadata', 'name'),
      'mountpoint: claimRef.name != PVC name',
    ),
    ...check(
      get(pv, 'spec', 'claimRef', 'namespace') === get(pvc, 'metadata', 'namespace'),
      'mountpoint: claimRef.namespace != PVC namespace',
    ),
    ...check(get(pvc, 'spec', 'volumeName') === get(pv, 'metadata', 'name'), 'mountpoint: PVC volumeName != PV name'),
    ...check(Array.isArray(options), 'mountpoint: mountOptions missing'),
    ...parsed.flatMap((o) => check(allowed.has(o.key), `mountpoint: mount option ${o.key} not allowed`)),
    ...check(prefix === undefined || prefix.value.endsWith('/'), 'mountpoint: prefix must end in /'),
    ...check(
      mode !== 'ReadOnlyMany' || !parsed.some((o) => o.key === 'allow-delete'),
      'mountpoint: allow-delete on a read-only volume',
    ),
  ];
}

/**
 * pod-identity.md has no upstream schema: a Markdown note naming each association (a table row with the cluster,
 * namespace, service account and role ARN) and the agent add-on, and never an IRSA annotation or a credential.
 */
function validatePodIdentityNotes(text: string): string[] {
  const rows = text.split('\n').filter((l) => /^\| `[^`]+` \|/.test(l));
  return [
    ...check(text.startsWith('# EKS Pod Identity\n'), 'pod-identity.md: must start with its title'),
    ...check(rows.length > 0, 'pod-identity.md: names no association'),
    ...rows.flatMap((r) =>
      check(/`arn:aws:iam::\d{12}:role\/[^`]+`/.test(r), `pod-identity.md: row without a role ARN: ${r}`),
    ),
    ...check(text.includes('`eks-pod-identity-agent`'), 'pod-identity.md: must name the eks-pod-identity-agent add-on'),
    ...check(!/eks\.amazonaws\.com\/role-arn:/.test(text), 'pod-identity.md: must not annotate a service account'),
    ...check(
      !/(AKIA|ASIA)[A-Z0-9]{12,}|aws_secret_access_key|secretAccessKey/i.test(text),
      'pod-identity.md: must hold no credentials',
    ),
  ];
}

/** What a snippet's validity depends on besides its text: EKS Pod Identity snippets annotate no service account. */
export interface SnippetOptions {
  podIdentity?: boolean;
}

const VALIDATORS: Record<string, (text: string, opts: SnippetOptions) => string[]> = {
  'pod-identity.md': validatePodIdentityNotes,
  'serviceaccount.yaml': validateServiceAccounts,
  'annotate.sh': validateAnnotateScript,
  'pbm-agent.env': validatePbmAgentEnv,
  'aws-config': validateAwsConfig,
  'sgcluster-annotations.yaml': validateSgClusterAnnotations,
  'velero-values.yaml': validateVeleroValues,
  'pbm-config.yaml': validatePbmConfig,
  'psmdb-backup-storages.yaml': validatePsmdbStorages,
  'sgobjectstorage.yaml': validateSgObjectStorage,
  'velero-bsl.yaml': validateVeleroBsl,
  'mountpoint-pv.yaml': validateMountpointVolume,
};

/** Error messages for one snippet file, empty when it is valid. Unknown file names are an error. */
export function validateSnippet(fileName: string, text: string, opts: SnippetOptions = {}): string[] {
  const validate = VALIDATORS[fileName];
  if (validate === undefined) return [`${fileName}: unknown snippet file`];
  try {
    return validate(text, opts);
  } catch (error) {
    return [`${fileName}: ${error instanceof Error ? error.message : String(error)}`];
  }
}

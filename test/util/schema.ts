/**
 * Offline validation of synthesized manifests against the Kubernetes 1.28 API schema.
 *
 * The schema (`k8s-schema/k8s-1.28.0-strict.json`) is the v1.28.0 OpenAPI document as
 * strict JSON Schema: every object type forbids fields it does not declare, which is how
 * `kubectl apply --validate=strict` treats them. ajv checks types, formats (int32 ranges,
 * date-time, ...), required fields and unknown fields.
 */
import * as fs from 'fs';
import * as path from 'path';
import Ajv2020, { ErrorObject, ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

/** One problem found in one object. */
export interface SchemaViolation {
  readonly kind: string;
  readonly name: string;
  /** JSON pointer into the object ('' is the object itself). */
  readonly path: string;
  readonly message: string;
}

const SCHEMA_FILE = path.join(__dirname, 'k8s-schema', 'k8s-1.28.0-strict.json');
const SCHEMA_KEY = 'k8s-1.28';

interface Catalog {
  /** `apiVersion/kind` -> compiled validator of that kind. */
  readonly byKind: Map<string, () => ValidateFunction>;
}

let catalog: Catalog | undefined;

function loadCatalog(): Catalog {
  if (catalog) return catalog;
  const schema = JSON.parse(fs.readFileSync(SCHEMA_FILE, 'utf8'));
  const ajv = new Ajv2020({ allErrors: true, verbose: true, strict: true, allowUnionTypes: true });
  // The OpenAPI extensions carry merge/list semantics for the API server, not validation rules.
  ajv.addVocabulary([
    'x-kubernetes-group-version-kind', 'x-kubernetes-int-or-string', 'x-kubernetes-list-map-keys',
    'x-kubernetes-list-type', 'x-kubernetes-map-type', 'x-kubernetes-patch-merge-key',
    'x-kubernetes-patch-strategy', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-unions',
    'x-kubernetes-validations', 'x-kubernetes-embedded-resource',
  ]);
  addFormats(ajv, ['date-time', 'byte', 'int32', 'int64', 'double']);
  ajv.addSchema(schema, SCHEMA_KEY);

  const byKind = new Map<string, () => ValidateFunction>();
  for (const [defName, def] of Object.entries<any>(schema.$defs)) {
    for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
      // Only the definition whose own apiVersion enum names this kind is the top-level type
      // (DeleteOptions, WatchEvent ... list every group-version-kind of the API).
      const apiVersion = gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version;
      if (!def.properties?.kind?.enum?.includes(gvk.kind)) continue;
      let compiled: ValidateFunction | undefined;
      byKind.set(`${apiVersion}/${gvk.kind}`, () => {
        compiled ??= ajv.getSchema(`${SCHEMA_KEY}#/$defs/${defName}`);
        if (!compiled) throw new Error(`schema definition ${defName} failed to compile`);
        return compiled;
      });
    }
  }
  catalog = { byKind };
  return catalog;
}

function got(error: ErrorObject): string {
  return ` (got ${JSON.stringify(error.data)})`;
}

function describe(error: ErrorObject): { path: string; message: string } {
  switch (error.keyword) {
    case 'additionalProperties':
      return { path: `${error.instancePath}/${error.params.additionalProperty}`, message: 'unknown field' };
    case 'required':
      return { path: `${error.instancePath}/${error.params.missingProperty}`, message: 'required field is missing' };
    case 'enum':
      return { path: error.instancePath, message: `must be one of ${JSON.stringify(error.params.allowedValues)}${got(error)}` };
    case 'type':
      return { path: error.instancePath, message: `must be ${String(error.params.type).replace(',null', '')}${got(error)}` };
    case 'oneOf':
      // IntOrString and Quantity: a string or a number.
      return { path: error.instancePath, message: `must be a string or a number${got(error)}` };
    default:
      return { path: error.instancePath, message: `${error.message ?? error.keyword}${got(error)}` };
  }
}

/** Every schema violation of every object (empty when all are valid). */
export function schemaViolations(objs: any[]): SchemaViolation[] {
  const { byKind } = loadCatalog();
  const violations: SchemaViolation[] = [];
  for (const obj of objs) {
    const kind = typeof obj?.kind === 'string' ? obj.kind : '<no kind>';
    const name = typeof obj?.metadata?.name === 'string' ? obj.metadata.name : '<no name>';
    const report = (p: string, message: string) => violations.push({ kind, name, path: p, message });

    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      report('', 'is not an object');
      continue;
    }
    const validator = byKind.get(`${obj.apiVersion}/${obj.kind}`);
    if (!validator) {
      report('', `unknown kind: no "${obj.kind}" in apiVersion "${obj.apiVersion}" in Kubernetes 1.28`);
      continue;
    }
    // The schema leaves metadata optional, but the API server rejects an object without a name.
    if (!obj.metadata?.name) report('/metadata/name', 'required field is missing');

    const validate = validator();
    if (!validate(obj)) {
      const seen = new Set<string>();
      const errors = validate.errors ?? [];
      // A failed oneOf also reports why each alternative failed; the oneOf line says it all.
      const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
      for (const error of errors) {
        if (error.schemaPath.includes('/oneOf/') && oneOfPaths.has(error.instancePath)) continue;
        const { path: p, message } = describe(error);
        const key = `${p}\u0000${message}`;
        if (seen.has(key)) continue;
        seen.add(key);
        report(p, message);
      }
    }
  }
  return violations;
}

/**
 * Throws one error listing every schema violation of the given objects (the output of
 * `Testing.synth` or parsed YAML). Unknown kinds are violations too.
 */
export function validateManifests(objs: any[]): void {
  const violations = schemaViolations(objs);
  if (violations.length === 0) return;
  const lines = violations.map((v) => `  ${v.kind} ${v.name}: ${v.path || '/'}: ${v.message}`);
  throw new Error(`${violations.length} Kubernetes 1.28 schema violation(s):\n${lines.join('\n')}`);
}

/**
 * Rebuilds `k8s-1.28.0-strict.json` beside this file.
 *
 * Input: the `_definitions.json` of the `v1.28.0-local-strict` flavour of the
 * kubernetes-json-schema project (JSON Schema 2020-12 converted from the Kubernetes
 * v1.28.0 OpenAPI document, with `additionalProperties: false` on every object, the
 * way `kubectl --validate=strict` treats unknown fields). The kubernetes-validate
 * package on PyPI ships it under `kubernetes_validate/kubernetes-json-schema/`.
 *
 * Output: the same definitions with the `description` texts removed (they are most
 * of the size and validation never reads them), one definition per line so that a
 * regenerated file diffs readably.
 *
 *   ts-node --project test/tsconfig.json test/util/k8s-schema/extract.ts <_definitions.json>
 */
import * as fs from 'fs';
import * as path from 'path';

const SOURCE_NOTE = 'Kubernetes v1.28.0 OpenAPI definitions as strict JSON Schema 2020-12 '
  + '(kubernetes-json-schema, v1.28.0-local-strict flavour), descriptions removed. Rebuild with extract.ts.';

function stripDescriptions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripDescriptions);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      if (key !== 'description') out[key] = stripDescriptions(child);
    }
    return out;
  }
  return value;
}

function main(input: string | undefined): void {
  if (!input) throw new Error('usage: extract.ts <path to v1.28.0-local-strict/_definitions.json>');
  const source = JSON.parse(fs.readFileSync(input, 'utf8'));
  const defs: Record<string, unknown> = source.$defs;
  if (!defs || !defs['io.k8s.api.apps.v1.Deployment']) {
    throw new Error(`${input} has no $defs with io.k8s.api.apps.v1.Deployment: not a kubernetes-json-schema _definitions.json`);
  }
  const lines = Object.keys(defs).sort().map((name) => `${JSON.stringify(name)}:${JSON.stringify(stripDescriptions(defs[name]))}`);
  const text = `{"$comment":${JSON.stringify(SOURCE_NOTE)},"$schema":${JSON.stringify(source.$schema)},"$defs":{\n${lines.join(',\n')}\n}}\n`;
  fs.writeFileSync(path.join(__dirname, 'k8s-1.28.0-strict.json'), text);
}

main(process.argv[2]);

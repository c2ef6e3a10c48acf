/**
 * The runtime's seams, read from the source: client-node is loaded (a value import) by
 * kube/client.ts alone, and the adapters in kube/ depend on ports/ and core/, never on
 * the applications (nfs/, local/) they serve.
 */
import { readdirSync, readFileSync } from 'fs';
import * as path from 'path';

const RUNTIME = path.join(__dirname, '../../../src/runtime');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every `import ... from '<module>'` of a file, with whether it is type-only. */
function imports(file: string): Array<{ module: string; typeOnly: boolean }> {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^import\s+(type\s+)?[^;]*?from\s+'([^']+)';/gms)].map((m) => ({ module: m[2], typeOnly: m[1] !== undefined }));
}

const relative = (file: string) => path.relative(RUNTIME, file);

test('only kube/client.ts loads @kubernetes/client-node values', () => {
  const loaders = sources(RUNTIME)
    .filter((file) => imports(file).some((i) => i.module.startsWith('@kubernetes/client-node') && !i.typeOnly))
    .map(relative);
  expect(loaders).toEqual(['kube/client.ts']);
});

test('the values it loads come from the config module, never the package index that evaluates every generated API class', () => {
  const values = sources(RUNTIME).flatMap((file) => imports(file)
    .filter((i) => i.module.startsWith('@kubernetes/client-node') && !i.typeOnly)
    .map((i) => i.module));
  expect(values).toEqual(['@kubernetes/client-node/dist/config.js']);
});

test('the adapters in kube/ import only from kube/, ports/, core/ and ops/', () => {
  const crossings = sources(path.join(RUNTIME, 'kube')).flatMap((file) => imports(file)
    .filter((i) => i.module.startsWith('.'))
    .map((i) => path.relative(RUNTIME, path.resolve(path.dirname(file), i.module)))
    .filter((target) => !/^(kube|ports|core|ops)\//.test(target))
    .map((target) => `${relative(file)} -> ${target}`));
  expect(crossings).toEqual([]);
});

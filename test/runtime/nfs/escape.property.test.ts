/**
 * Property tests: whatever names, labels, annotations and patterns a user writes, no file
 * system write lands outside the root, and no directory is reached through a symlink.
 * Runs on a real temporary file system with symlinks planted where generated names land.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as fc from 'fast-check';
import { renderPath } from '../../../src/contract/path-template';
import { NfsRootFs } from '../../../src/runtime/nfs/fs';

let base: string;
let root: string;
let outside: string;
let vfs: NfsRootFs;

/** Names chosen to collide with the planted links and with path syntax. */
const tricky = fc.constantFrom('a', 'b', 'evil', 'rel', 'a/evil', '..', '.', '../..', '/', '//', '', '../outside', 'x/../..', 'é', '\u0000', '\n', 'ns', '-', '${.PVC.name}');
const text = fc.oneof(
  { arbitrary: tricky, weight: 6 },
  { arbitrary: fc.string({ maxLength: 12 }), weight: 2 },
  { arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }), weight: 1 },
  { arbitrary: fc.constant('y'.repeat(300)), weight: 1 },
);
const token = fc.constantFrom('${.PVC.namespace}', '${.PVC.name}', '${.PV.name}', '${.PVC.labels.app}', '${.PVC.annotations.dir}', '${.PVC.labels.team}');
const patternPart = fc.oneof(token, tricky, fc.constantFrom('/', '-', 'archived-', '..', '.'));
const realistic = fc.constantFrom(
  '${.PVC.namespace}-${.PVC.name}-${.PV.name}',
  '${.PVC.namespace}/${.PVC.name}',
  '${.PVC.namespace}/${.PVC.labels.app}/${.PV.name}',
  '${.PVC.namespace}/${.PVC.annotations.dir}',
  '${.PVC.labels.team}/${.PVC.namespace}',
  'a/${.PVC.namespace}',
);
const pattern = fc.oneof(realistic, fc.array(patternPart, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('')));
const context = fc.record({
  namespace: text,
  name: text,
  pvName: fc.oneof(fc.constant('pvc-1234'), text),
  labels: fc.dictionary(fc.constantFrom('app', 'team', 'other'), text),
  annotations: fc.dictionary(fc.constantFrom('dir', 'note'), text),
});

beforeAll(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-escape-'));
  root = path.join(base, 'root');
  outside = path.join(base, 'outside');
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret'), 'keep');
  fs.mkdirSync(path.join(root, 'a'), { recursive: true });
  fs.mkdirSync(path.join(root, 'ns'), { recursive: true });
  fs.symlinkSync(outside, path.join(root, 'evil'));
  fs.symlinkSync(outside, path.join(root, 'a', 'evil'));
  fs.symlinkSync('../outside', path.join(root, 'rel'));
  fs.symlinkSync(path.join(outside, 'secret'), path.join(root, 'ns', 'y'));
  vfs = new NfsRootFs(root);
});

afterAll(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

function outsideUntouched(): void {
  expect(fs.readdirSync(outside)).toEqual(['secret']);
  expect(fs.readFileSync(path.join(outside, 'secret'), 'utf8')).toBe('keep');
  expect(fs.statSync(outside).mode % 0o1000).not.toBe(0o777);
}

/** Every component of `rel` under the root is a real directory (no link anywhere). */
function reachedWithoutLinks(rel: string): boolean {
  let current = root;
  for (const segment of rel.split('/')) {
    current = path.join(current, segment);
    const st = fs.lstatSync(current);
    if (st.isSymbolicLink() || !st.isDirectory()) return false;
  }
  return fs.realpathSync(current).startsWith(fs.realpathSync(root) + path.sep);
}

test('rendered paths never create, chmod or delete anything outside the root', async () => {
  await fc.assert(fc.asyncProperty(pattern, context, async (p, ctx) => {
    const rendered = renderPath(p, ctx);
    if (!rendered.ok) {
      expect(rendered.reason.length).toBeGreaterThan(0);
      return;
    }
    const { relativePath } = rendered;
    expect(path.posix.isAbsolute(relativePath)).toBe(false);
    expect(relativePath.split('/')).not.toContain('..');

    const made = await vfs.ensureDirectory(relativePath, 0o777).then(() => true, () => false);
    if (made) expect(reachedWithoutLinks(relativePath)).toBe(true);
    outsideUntouched();

    // Whatever the outcome, deleting or archiving that path stays inside too.
    await vfs.archiveDirectory(relativePath, 'pvc-1234').catch(() => undefined);
    await vfs.removeDirectory(relativePath).catch(() => undefined);
    await vfs.removeEmptyParents(relativePath).catch(() => undefined);
    outsideUntouched();
    expect(fs.lstatSync(path.join(root, 'evil')).isSymbolicLink()).toBe(true);
  }), { numRuns: 400 });
});

test('raw relative paths (not from a pattern) are either refused or stay inside', async () => {
  const segment = fc.oneof(tricky, fc.string({ maxLength: 6 }));
  const raw = fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => s.join('/'));
  await fc.assert(fc.asyncProperty(raw, async (rel) => {
    const made = await vfs.ensureDirectory(rel, 0o755).then(() => true, () => false);
    if (made) expect(reachedWithoutLinks(rel)).toBe(true);
    await vfs.removeDirectory(rel).catch(() => undefined);
    outsideUntouched();
  }), { numRuns: 400 });
});

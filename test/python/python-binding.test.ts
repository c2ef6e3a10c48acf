/**
 * The Python binding: the wheel jsii-pacmak built (dist/python/) installs into a virtualenv,
 * and a Python app (app.py) synthesizes exactly the YAML its TypeScript twin (app.ts) does.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { synth } from './app';
import { builtWheel, cachedVirtualenv, wheelRequirements } from './venv';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-storage-python-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** File name -> content of every file in `dir`. */
function filesIn(dir: string): Record<string, string> {
  return Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
}

test('the wheel names the package cdk8s-storage and the module cdk8s_storage', () => {
  expect(path.basename(builtWheel())).toMatch(/^cdk8s_storage-[^-]+-py3-none-any\.whl$/);
  expect(wheelRequirements(builtWheel()).map((r) => r.split(/[ <>=]/)[0]).sort())
    .toEqual(['cdk8s', 'cdk8s-plus-28', 'constructs', 'jsii', 'publication']);
});

test('a Python app (NFS provisioner, class and claim) synthesizes the same YAML as the TypeScript app', () => {
  const wheel = builtWheel();
  const python = cachedVirtualenv(wheelRequirements(wheel));
  // The wheel goes into a directory of this run, not into the shared cached virtualenv.
  const site = path.join(tmp, 'site');
  execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--no-index', '--target', site, wheel]);

  const fromPython = path.join(tmp, 'python-out');
  execFileSync(python, [path.join(__dirname, 'app.py'), fromPython], {
    env: { ...process.env, PYTHONPATH: site },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const fromTypeScript = path.join(tmp, 'ts-out');
  synth(fromTypeScript);

  const expected = filesIn(fromTypeScript);
  expect(Object.keys(expected)).toEqual(['storage.k8s.yaml']);
  expect(expected['storage.k8s.yaml']).toContain('kind: PersistentVolumeClaim');
  expect(filesIn(fromPython)).toEqual(expected);
});

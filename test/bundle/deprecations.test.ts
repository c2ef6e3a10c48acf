import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bundleInto } from './bundle-into';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-storage-deprecations-'));
  bundleInto(tmp);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// The controller's logs are JSON lines; a Node deprecation warning at start is a line that is
// not. Node 20 prints the deprecations that newer Node versions (the image has 22) print by
// default only with --pending-deprecation, so the bundle is run with it.
test.each([
  ['nfs', ['nfs', '--no-such-flag']],
  ['local', ['local', '--no-such-flag']],
])('the bundle loads every module of the %s command without a deprecation warning', (_name, args) => {
  const r = spawnSync(process.execPath, ['--pending-deprecation', path.join(tmp, 'index.js'), ...args], { encoding: 'utf8' });
  expect(r.stderr).toContain('unknown flag --no-such-flag');
  expect(r.stderr).not.toMatch(/DeprecationWarning|DEP\d{4}/);
});

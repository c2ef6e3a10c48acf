/**
 * The shipped controller is one file: it must run from a folder with no node_modules.
 * `projen build` bundles before it tests; a bare `jest` run builds the bundle first.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { LOCAL_FLAGS, NFS_FLAGS } from '../../src/contract/controller-config';

const BUNDLE = path.join(__dirname, '..', '..', 'assets', 'runtime', 'main', 'index.js');
let dir: string;

beforeAll(() => {
  if (!fs.existsSync(BUNDLE)) {
    execFileSync('npx', ['projen', 'bundle'], { cwd: path.join(__dirname, '..', '..'), stdio: 'ignore' });
  }
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bundle-'));
  fs.copyFileSync(BUNDLE, path.join(dir, 'index.js'));
}, 180_000);

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs the copied bundle with a minimal environment (no KUBECONFIG, not in a cluster). */
function run(...args: string[]) {
  const result = spawnSync(process.execPath, ['index.js', ...args], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: dir },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const flags = (root: string) => [
  `--${NFS_FLAGS.provisionerName}=example.com/nfs`,
  `--${NFS_FLAGS.server}=10.0.0.5`,
  `--${NFS_FLAGS.path}=/exports`,
  `--${NFS_FLAGS.root}=${root}`,
  `--${NFS_FLAGS.leaderElect}=false`,
];

test('the bundle is a node script that needs nothing beside it', () => {
  expect(fs.readFileSync(BUNDLE, 'utf8').split('\n', 1)[0]).toBe('#!/usr/bin/env node');
  expect(fs.readdirSync(dir)).toEqual(['index.js']);
});

test('--help prints the usage with every flag and exits 0', () => {
  const { status, stdout } = run('--help');
  expect(status).toBe(0);
  expect(stdout).toContain('Usage: cdk8s-storage-controller <command>');
  for (const flag of [...Object.values(NFS_FLAGS), ...Object.values(LOCAL_FLAGS)]) expect(stdout).toContain(`--${flag}`);
  expect(run('nfs', '--help').status).toBe(0);
  expect(run('local', '--help').status).toBe(0);
});

test('a missing flag stops it with one line naming the flag', () => {
  const { status, stderr } = run('nfs', `--${NFS_FLAGS.provisionerName}=example.com/nfs`);
  expect(status).toBe(2);
  expect(stderr).toBe(`cdk8s-storage-controller: missing required flag --${NFS_FLAGS.server} (NFS server host or IP written into every PV (resolved by the nodes))\n`);
});

test('the local command is in the same bundle and checks its flags too', () => {
  expect(run('local')).toMatchObject({ status: 2, stderr: expect.stringMatching(/^cdk8s-storage-controller: missing required flag --config /) });
});

test('an unknown flag or command stops it', () => {
  expect(run('nfs', ...flags(dir), '--bogus=1')).toMatchObject({ status: 2, stderr: expect.stringMatching(/^cdk8s-storage-controller: unknown flag --bogus;/) });
  expect(run('frobnicate')).toMatchObject({ status: 2, stderr: expect.stringContaining('unknown command "frobnicate"') });
});

test('a root that is not there stops it before any API call', () => {
  const { status, stderr } = run('nfs', ...flags(path.join(dir, 'missing')));
  expect(status).toBe(2);
  expect(stderr).toMatch(/--root: the NFS root .*missing does not exist/);
});

test('no cluster and no kubeconfig stops it with a hint', () => {
  const { status, stderr } = run('nfs', ...flags(dir));
  expect(status).toBe(2);
  expect(stderr).toContain('pass --kubeconfig=<file> or set KUBECONFIG');
});

test('a log level the logger does not know stops it', () => {
  expect(run('nfs', ...flags(dir), '--log-level=loud')).toMatchObject({
    status: 2, stderr: 'cdk8s-storage-controller: --log-level="loud" is not a log level: use debug, info, warn, error\n',
  });
});

test('--version prints the version of the package it was bundled from', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
  expect(run('--version')).toMatchObject({ status: 0, stdout: `cdk8s-storage-controller ${pkg.version}\n`, stderr: '' });
});

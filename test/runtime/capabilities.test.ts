/**
 * The capabilities the constructs give the controllers are the ones their file operations
 * need, proven on real files (root only): the controller code runs in a child process cut
 * down to the synthesized container's capabilities (setpriv, as a container runtime does for
 * a root container), against a tenant's tree that ordinary root-owned code would trip on:
 * files of other users in private (0700) and read-only (0555) directories, and a sticky
 * (1777) directory holding another user's file.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { buildSync } from 'esbuild';
import { LocalStaticProvisioner, NfsProvisioner, NfsServer } from '../../src';
import type { LocalClassConfig } from '../../src/contract/controller-config';
import { LoopLab } from '../util/loop-lab';
import { one, synthValid } from '../util/synth';

const lab = new LoopLab('capabilities');
afterAll(() => lab.cleanup());

const TENANT = 1000;
const OTHER_TENANT = 1001;

/** The controller code the child runs, bundled once. */
const child = path.join(lab.root, 'child.js');
beforeAll(() => {
  buildSync({ entryPoints: [path.join(__dirname, 'capabilities-child.ts')], bundle: true, platform: 'node', target: 'node20', outfile: child, logLevel: 'error' });
});

/** Runs a job of capabilities-child.ts as root with exactly `capabilities` (Kubernetes spelling). */
function runWith(capabilities: readonly string[], args: string[]): any {
  const keep = capabilities.map(c => `,+${c.toLowerCase()}`).join('');
  const out = execFileSync('setpriv', [`--bounding-set=-all${keep}`, '--inh-caps=-all', '--no-new-privs', '--', process.execPath, child, ...args], { encoding: 'utf8' });
  return JSON.parse(out);
}

function mkdir(p: string, mode: number, uid: number): void {
  fs.mkdirSync(p);
  fs.chmodSync(p, mode);
  fs.chownSync(p, uid, uid);
}

function file(p: string, mode: number, uid: number): void {
  fs.writeFileSync(p, `data of ${uid}`);
  fs.chmodSync(p, mode);
  fs.chownSync(p, uid, uid);
}

/** What a tenant leaves behind (modes set after the contents, as a tenant would). */
function plantTenantTree(dir: string): void {
  mkdir(path.join(dir, 'private'), 0o755, TENANT);
  file(path.join(dir, 'private', 'secret'), 0o600, TENANT);
  mkdir(path.join(dir, 'private', 'deeper'), 0o700, TENANT);
  file(path.join(dir, 'private', 'deeper', 'unreadable'), 0o000, TENANT);
  fs.chmodSync(path.join(dir, 'private'), 0o700);
  mkdir(path.join(dir, 'readonly'), 0o755, TENANT);
  file(path.join(dir, 'readonly', 'file'), 0o444, TENANT);
  fs.chmodSync(path.join(dir, 'readonly'), 0o555);
  mkdir(path.join(dir, 'shared-tmp'), 0o1777, TENANT);
  file(path.join(dir, 'shared-tmp', 'of-another-user'), 0o644, OTHER_TENANT);
}

function emptyAsRoot(dir: string): void {
  for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
}

function containerCapabilities(objs: any[], kind: string): string[] {
  const workload = one(objs, kind);
  return workload.spec.template.spec.containers[0].securityContext.capabilities.add;
}

describe('local node agent with mount-point classes only', () => {
  const disks = path.join(lab.root, 'disks');
  const vol = path.join(disks, 'vol1');
  const cls: LocalClassConfig = {
    storageClassName: 'local-fs', hostDir: '/mnt/disks', mountDir: disks, volumeMode: 'Filesystem', namePattern: '*', reclaimPolicy: 'Delete',
  };
  const chart = Testing.chart();
  new LocalStaticProvisioner(chart, 'local').addStorageClass('fs', { hostDir: '/mnt/disks' });
  const granted = containerCapabilities(synthValid(chart), 'DaemonSet');

  beforeAll(() => lab.mountFs(vol));
  beforeEach(() => {
    emptyAsRoot(vol);
    plantTenantTree(vol);
  });

  test('its container gets DAC_OVERRIDE and FOWNER', () => {
    expect(granted).toEqual(['DAC_OVERRIDE', 'FOWNER']);
  });

  test('with them, the wipe empties a tenant\'s tree of other users\' private, read-only and sticky directories', () => {
    expect(runWith(granted, ['local-wipe', JSON.stringify(cls), 'vol1'])).toEqual({ ok: true, message: expect.stringMatching(/^emptied \/mnt\/disks\/vol1/) });
    expect(fs.readdirSync(vol)).toEqual([]);
  });

  test('without DAC_OVERRIDE, the wipe cannot list another user\'s private directory', () => {
    expect(runWith(granted.filter(c => c !== 'DAC_OVERRIDE'), ['local-wipe', JSON.stringify(cls), 'vol1'])).toMatchObject({ ok: false });
    expect(fs.existsSync(path.join(vol, 'private', 'secret'))).toBe(true);
  });

  test('without FOWNER, the wipe cannot unlink another user\'s file in a sticky directory', () => {
    expect(runWith(granted.filter(c => c !== 'FOWNER'), ['local-wipe', JSON.stringify(cls), 'vol1'])).toMatchObject({ ok: false });
    expect(fs.existsSync(path.join(vol, 'shared-tmp', 'of-another-user'))).toBe(true);
  });
});

describe('NFS controller', () => {
  const root = path.join(lab.root, 'export');
  const chart = Testing.chart();
  new NfsProvisioner(chart, 'nfs', { server: NfsServer.external({ host: '10.0.0.5', path: '/exports' }) });
  const granted = containerCapabilities(synthValid(chart), 'Deployment');

  beforeAll(() => lab.mountFs(root));
  beforeEach(() => {
    emptyAsRoot(root);
    mkdir(path.join(root, 'reused'), 0o700, TENANT);
    mkdir(path.join(root, 'archive-me'), 0o755, TENANT);
    plantTenantTree(path.join(root, 'archive-me'));
    fs.chmodSync(path.join(root, 'archive-me'), 0o700);
    mkdir(path.join(root, 'delete-me'), 0o755, TENANT);
    plantTenantTree(path.join(root, 'delete-me'));
  });

  test('its container gets DAC_OVERRIDE and FOWNER, no CHOWN', () => {
    expect(granted).toEqual(['DAC_OVERRIDE', 'FOWNER']);
  });

  test('with them, it reuses another user\'s empty directory (chmod), archives one and deletes a tenant\'s tree', () => {
    expect(runWith(granted, ['nfs', root])).toEqual({ reuse: 'ok', archive: 'ok', delete: 'ok' });
    expect((fs.statSync(path.join(root, 'reused')).mode % 0o10000).toString(8)).toBe('770');
    expect(fs.readdirSync(root).filter(n => n.startsWith('archived-'))).toHaveLength(1);
    expect(fs.existsSync(path.join(root, 'archive-me'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'delete-me'))).toBe(false);
  });

  test('without DAC_OVERRIDE, it cannot look into another user\'s private directory (to reuse or delete it)', () => {
    const outcome = runWith(granted.filter(c => c !== 'DAC_OVERRIDE'), ['nfs', root]);
    expect(outcome).toEqual({ reuse: expect.stringMatching(/permission denied/), archive: 'ok', delete: expect.stringMatching(/permission denied/) });
    expect(fs.existsSync(path.join(root, 'delete-me', 'private', 'secret'))).toBe(true);
  });

  test('without FOWNER, it cannot chmod another user\'s directory or unlink in a sticky one', () => {
    const outcome = runWith(granted.filter(c => c !== 'FOWNER'), ['nfs', root]);
    expect(outcome).toEqual({ reuse: expect.stringMatching(/permission denied .*EPERM/), archive: 'ok', delete: expect.stringMatching(/permission denied .*EPERM/) });
    expect(fs.existsSync(path.join(root, 'delete-me', 'shared-tmp', 'of-another-user'))).toBe(true);
  });
});

/**
 * The xfs-project start-up check for real (root only): the bundled `nfs-server` command,
 * as its container runs it, with --quota=xfs-project and its data directory on a real XFS
 * (a loop image) mounted without prjquota, and on the host's ext4. It must refuse to start,
 * naming what it found and the fix, before it starts the bus or ganesha. Each run has its
 * own mount and network namespaces (the mount dies with it; nothing listens on the host).
 *
 * A mount with prjquota cannot be made on this kernel (no XFS quota support), so the
 * accepting side of the check is unit-tested on mount table entries (xfs-project-plan.test.ts).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bundleCommand, writeUnreachableKubeconfig } from './server-lab';
import { NFS_SERVER_FLAGS } from '../../../src/contract/controller-config';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'xfs-preflight-'));
const main = path.join(root, 'main.js');
const image = path.join(root, 'backing.img');
const mountDir = path.join(root, 'backing');
const kubeconfig = path.join(root, 'kubeconfig');

beforeAll(() => {
  bundleCommand(main);
  writeUnreachableKubeconfig(kubeconfig);
  fs.mkdirSync(mountDir);
  fs.closeSync(fs.openSync(image, 'w'));
  fs.truncateSync(image, 300 * 1024 * 1024);
  execFileSync('mkfs.xfs', ['-q', '-f', image]);
}, 120_000);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Runs `setup` (a shell line) then the command, in a private mount and network namespace; its exit status and output. */
function runCommand(setup: string, dataDir: string): { status: number | null; output: string } {
  const args = [main, 'nfs-server',
    `--${NFS_SERVER_FLAGS.provisionerName}=example.com/server`,
    `--${NFS_SERVER_FLAGS.serviceName}=nfs-server`,
    `--${NFS_SERVER_FLAGS.dataDir}=${dataDir}`,
    `--${NFS_SERVER_FLAGS.ganeshaConfigDir}=${path.join(root, 'config')}`,
    `--${NFS_SERVER_FLAGS.quota}=xfs-project`,
    `--${NFS_SERVER_FLAGS.leaderElect}=false`,
    `--kubeconfig=${kubeconfig}`];
  const script = `${setup} && ip link set lo up && exec "$0" "$@"`;
  const result = spawnSync('unshare', ['--mount', '--net', '--propagation', 'private', '--', 'sh', '-ec', script, process.execPath, ...args], {
    encoding: 'utf8', env: { ...process.env, POD_NAMESPACE: 'storage', POD_NAME: 'nfs-server-0' }, timeout: 60_000,
  });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('XFS mounted without prjquota: the command refuses to start, naming the mount, its options and the fix', () => {
  const dataDir = path.join(mountDir, 'server');
  const { status, output } = runCommand(`mount -t xfs -o loop ${image} ${mountDir} && mkdir -p ${dataDir}`, dataDir);
  expect(status).toBe(1);
  expect(output).toMatch(new RegExp(`needs --data-dir ${dataDir} on XFS mounted with prjquota; it is on xfs /dev/loop\\d+ mounted at ${mountDir} with rw,[^:]*noquota`));
  expect(output).toContain('mount the backing volume with prjquota');
  expect(output).toContain('or use quota: NfsQuota.LOOP_IMAGE');
  // Refused before anything ran: no bus, no ganesha configuration.
  expect(output).not.toMatch(/started (dbus-daemon|ganesha)/);
  expect(fs.existsSync(path.join(root, 'config', 'ganesha.conf'))).toBe(false);
}, 120_000);

test('a data directory on another filesystem (ext4 here): refused the same way', () => {
  const dataDir = path.join(root, 'on-root-fs');
  const { status, output } = runCommand('true', dataDir);
  const fsType = execFileSync('stat', ['-f', '-c', '%T', root], { encoding: 'utf8' }).trim();
  expect(status).toBe(1);
  expect(output).toMatch(new RegExp(`needs --data-dir ${dataDir} on XFS mounted with prjquota; it is on (ext4|${fsType}) `));
  expect(output).toContain('or use quota: NfsQuota.LOOP_IMAGE');
}, 120_000);

/**
 * The `nfs-server` command as its container runs it (root only): the runtime's entry point
 * bundled, started in the lab's pod-like namespaces. It is ready only once ganesha answers
 * an NFS NULL call, exits 1 when ganesha dies (so the kubelet restarts it) and 0 on SIGTERM,
 * taking ganesha and its bus with it.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { bundleCommand, pidsInMountNamespace, ServerLab, writeUnreachableKubeconfig } from './server-lab';
import { NFS_SERVER_FLAGS } from '../../../src/contract/controller-config';

const lab = new ServerLab();
const main = path.join(lab.root, 'main.js');
const kubeconfig = path.join(lab.root, 'kubeconfig');

beforeAll(() => {
  lab.start();
  bundleCommand(main);
  // Events go nowhere: nothing listens there, and the command carries on without them.
  writeUnreachableKubeconfig(kubeconfig);
}, 120_000);
afterAll(() => lab.cleanup(), 60_000);

interface Started { readonly child: ChildProcess; readonly exit: Promise<number | null>; readonly mntNs: string }

async function startCommand(): Promise<Started> {
  const child = spawn('nsenter', [`--net=${lab.netNs}`, '--', 'unshare', '--mount', '--propagation', 'private', '--', process.execPath, main, 'nfs-server',
    `--${NFS_SERVER_FLAGS.provisionerName}=example.com/server`,
    `--${NFS_SERVER_FLAGS.serviceName}=nfs-server`,
    `--${NFS_SERVER_FLAGS.dataDir}=${lab.dataDir}`,
    `--${NFS_SERVER_FLAGS.ganeshaConfigDir}=${lab.configDir}`,
    `--${NFS_SERVER_FLAGS.leaderElect}=false`,
    `--${NFS_SERVER_FLAGS.httpPort}=8080`,
    `--kubeconfig=${kubeconfig}`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, POD_NAMESPACE: 'storage', POD_NAME: 'nfs-server-0' } });
  child.stdout!.pipe(fs.createWriteStream(path.join(lab.root, 'command.log'), { flags: 'a' }));
  child.stderr!.pipe(fs.createWriteStream(path.join(lab.root, 'command.log'), { flags: 'a' }));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const own = fs.readlinkSync('/proc/self/ns/mnt');
  let mntNs = own;
  while (mntNs === own && child.exitCode === null) {
    await new Promise((r) => setTimeout(r, 10));
    mntNs = fs.readlinkSync(`/proc/${child.pid}/ns/mnt`);
  }
  return { child, exit, mntNs };
}

/** /readyz's status code from inside the pod's network namespace (000 while nothing listens). */
function readyz(): string {
  return lab.inNet('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:8080/readyz']).trim();
}

/** Asks /readyz until it says 200, up to `tries` times 100 ms apart; the last answer. */
async function untilReady(tries = 600): Promise<string> {
  for (let i = 1; ; i++) {
    let status: string;
    try {
      status = readyz();
    } catch {
      status = '000';
    }
    if (status === '200' || i >= tries) return status;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function ganeshaIn(mntNs: string): number {
  const pid = pidsInMountNamespace(mntNs).find((p) => fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'ganesha.nfsd');
  if (pid === undefined) throw new Error('no ganesha.nfsd in the command\'s namespace');
  return pid;
}

test('ready once ganesha answers NFS; ganesha killed -> the command stops its bus and exits 1', async () => {
  const started = await startCommand();
  expect(await untilReady()).toBe('200');
  process.kill(ganeshaIn(started.mntNs), 'SIGKILL');
  expect(await started.exit).toBe(1);
  // It stopped its bus on the way out.
  expect(pidsInMountNamespace(started.mntNs)).toEqual([]);
}, 180_000);

test('SIGTERM stops ganesha and the bus and exits 0', async () => {
  const started = await startCommand();
  expect(await untilReady()).toBe('200');
  started.child.kill('SIGTERM');
  expect(await started.exit).toBe(0);
  expect(pidsInMountNamespace(started.mntNs)).toEqual([]);
}, 180_000);

/**
 * One e2e environment = one control plane + one NFS server + one real node
 * (containerd + kubelet, `node.ts`), described by a
 * state file so that other processes (jest test files, `cli.ts down`) can attach
 * to it and stop it.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ControlPlane, ControlPlaneState } from './controlPlane';
import { NfsServer, NfsServerState } from './nfsServer';
import { TEST_NODE_NAME, TestNode, TestNodeState } from './node';

/** Environment variable holding the path of the running environment's state file. */
export const E2E_STATE_ENV = 'CDK8S_STORAGE_E2E_STATE';

/** File next to the state file that `failure-reporter.js` creates when a test failed. */
export const FAILURE_MARKER = 'tests-failed';

export interface EnvironmentState {
  readonly kind: 'cdk8s-storage-e2e-environment';
  readonly stateDir: string;
  /** Process that owns the environment (jest); 0 when it runs on its own (`cli.ts up`). */
  readonly ownerPid: number;
  readonly startedAt: string;
  readonly controlPlane: ControlPlaneState;
  readonly nfs: NfsServerState;
  readonly node: TestNodeState;
}

export interface Environment {
  readonly controlPlane: ControlPlane;
  readonly nfs: NfsServer;
  readonly node: TestNode;
  readonly stateFile: string;
}

const HARNESS_DIR = __dirname;

/** Runs a harness shell script; its stderr goes to ours; returns the last stdout line. */
export function runScript(script: string, args: string[] = [], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync('bash', [path.join(HARNESS_DIR, script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env,
    encoding: 'utf8',
  });
  if (r.error) {
    throw r.error;
  }
  if (r.status !== 0) {
    throw new Error(`${script} failed with exit code ${r.status}`);
  }
  const lines = r.stdout.trim().split('\n');
  return lines[lines.length - 1];
}

/** Installs missing apt packages (skipped with E2E_SKIP_APT=1). */
export function ensurePackages(): void {
  if (process.env.E2E_SKIP_APT === '1') {
    return;
  }
  runScript('apt.sh');
}

/** Directory holding etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl (built on first use). */
export function ensureBinaries(): string {
  return runScript('binaries.sh');
}

/** Directory holding kubelet (`binaries.sh kubelet`, its own cache key). */
export function ensureKubelet(): string {
  return runScript('binaries.sh', ['kubelet']);
}

/** The node's image archives: [sandbox image, controller image] (node/images.sh). */
export function ensureNodeImages(): [string, string] {
  const [pause, controller] = runScript('node/images.sh').split(' ');
  return [pause, controller];
}

/** The in-cluster NFS server image's archive (node/images.sh --server), for `TestNode.importImage`. */
export function ensureServerImage(): string {
  return runScript('node/images.sh', ['--server']);
}

/** Stops environments whose owning process died without tearing them down (an interrupted jest run). */
export async function reapStaleEnvironments(tmpRoot = os.tmpdir()): Promise<string[]> {
  const reaped: string[] = [];
  for (const entry of fs.readdirSync(tmpRoot)) {
    if (!entry.startsWith('cdk8s-storage-e2e-run-')) {
      continue;
    }
    const stateFile = path.join(tmpRoot, entry, 'state.json');
    let state: EnvironmentState;
    try {
      state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    } catch {
      continue;
    }
    if (state.ownerPid > 0 && !fs.existsSync(`/proc/${state.ownerPid}`)) {
      await stopEnvironment(stateFile, { keepLogs: false, quiet: true });
      reaped.push(stateFile);
    }
  }
  return reaped;
}

export interface StartEnvironmentOptions {
  /** Directory for state.json (created if missing). */
  readonly stateDir: string;
  /** 0 for an environment that outlives its starter. */
  readonly ownerPid: number;
  readonly binDir?: string;
}

/** Starts a control plane, an NFS server and the node's containerd side by side, then the node's kubelet, and writes `<stateDir>/state.json`. */
export async function startEnvironment(options: StartEnvironmentOptions): Promise<Environment> {
  fs.mkdirSync(options.stateDir, { recursive: true });
  const stateFile = path.join(options.stateDir, 'state.json');
  const binDir = options.binDir ?? ensureBinaries();
  const kubeletBinDir = ensureKubelet();
  const [pauseArchive, controllerArchive] = ensureNodeImages();
  const [cp, nfs, node] = await Promise.allSettled([
    ControlPlane.start({ binDir, stateFile: path.join(options.stateDir, 'control-plane.json') }),
    NfsServer.start({ port: process.env.E2E_NFS_PORT ? Number(process.env.E2E_NFS_PORT) : undefined }),
    // containerd loads the images while the control plane starts; kubelet joins after.
    TestNode.startRuntime({ pauseArchive, controllerArchive }),
  ]);
  const joinError = cp.status === 'fulfilled' && node.status === 'fulfilled'
    ? await node.value.joinCluster({
      kubeletBinDir,
      kubeletKubeconfig: await cp.value.nodeKubeconfig(TEST_NODE_NAME),
      kubeconfig: cp.value.kubeconfig,
      kubectlPath: cp.value.kubectlPath,
    })
      .then(() => undefined, (err: unknown) => err)
    : undefined;
  if (cp.status === 'rejected' || nfs.status === 'rejected' || node.status === 'rejected' || joinError !== undefined) {
    await Promise.allSettled([
      node.status === 'fulfilled' ? node.value.stop({ keepLogs: true }) : undefined,
      cp.status === 'fulfilled' ? cp.value.stop({ keepLogs: joinError !== undefined }) : undefined,
      nfs.status === 'fulfilled' ? nfs.value.stop({ keepLogs: false }) : undefined,
    ]);
    const reasons = [cp, nfs, node].filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => String(r.reason?.stack ?? r.reason));
    if (joinError !== undefined) {
      reasons.push(String((joinError as Error)?.stack ?? joinError));
    }
    throw new Error(`e2e environment failed to start:\n${reasons.join('\n')}`);
  }
  const state: EnvironmentState = {
    kind: 'cdk8s-storage-e2e-environment',
    stateDir: options.stateDir,
    ownerPid: options.ownerPid,
    startedAt: new Date().toISOString(),
    controlPlane: cp.value.state(),
    nfs: nfs.value.state(),
    node: node.value.state(),
  };
  fs.writeFileSync(stateFile, JSON.stringify(state, undefined, 2));
  return { controlPlane: cp.value, nfs: nfs.value, node: node.value, stateFile };
}

function readState(stateFile: string): EnvironmentState {
  const state: EnvironmentState = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  // The control plane rewrites its own file after restarts; prefer it.
  const cpFile = path.join(path.dirname(stateFile), 'control-plane.json');
  if (fs.existsSync(cpFile)) {
    return { ...state, controlPlane: JSON.parse(fs.readFileSync(cpFile, 'utf8')) };
  }
  return state;
}

/** Attaches to a running environment (default: the one named by $CDK8S_STORAGE_E2E_STATE). */
export function connect(stateFile = process.env[E2E_STATE_ENV]): Environment {
  if (!stateFile) {
    throw new Error(`${E2E_STATE_ENV} is not set: run the e2e tests through test/e2e/jest.config.js (its global setup starts the environment)`);
  }
  const state = readState(stateFile);
  return {
    controlPlane: ControlPlane.attach(state.controlPlane),
    nfs: NfsServer.attach(state.nfs),
    node: TestNode.attach(state.node),
    stateFile,
  };
}

/** Stops everything an environment started and removes its state; returns kept log directories. */
export async function stopEnvironment(stateFile: string, options: { keepLogs?: boolean; quiet?: boolean } = {}): Promise<string[]> {
  if (!fs.existsSync(stateFile)) {
    return [];
  }
  const state = readState(stateFile);
  const kept: string[] = [];
  // The node first: its kubelet and pods are clients of the control plane.
  const nodeStop = state.node ? await Promise.allSettled([TestNode.attach(state.node).stop(options)]) : [];
  const results = [...nodeStop, ...await Promise.allSettled([
    ControlPlane.attach(state.controlPlane).stop(options),
    NfsServer.attach(state.nfs).stop(options),
  ])];
  for (const r of results) {
    if (r.status === 'fulfilled' && r.value) {
      kept.push(r.value);
    }
  }
  fs.rmSync(state.stateDir, { recursive: true, force: true });
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    throw failed.reason;
  }
  return kept;
}

/**
 * Benchmark: a burst of N claims of one NFS class -> all Bound, then all deleted -> all PVs
 * and their directories gone, on a real control plane (the e2e harness). Measured for
 *  - the floor: the same N claims created together with N pre-bound PVs, no provisioner at
 *    all (kube-controller-manager's PV binder alone; there is nothing to delete for it);
 *  - the cdk8s-storage NFS controller (subdir mode, onDelete DELETE): the built bundle, started
 *    with the args and env of the synthesized Deployment, under its ServiceAccount, on a
 *    local directory as the export.
 * The controller talks to the API server through a counting HTTPS proxy (requests by verb); its
 * CPU time and peak resident set are read from /proc.
 *
 *   npx ts-node --project test/tsconfig.json bench/nfs-burst.ts [--n=500] [--no-floor]
 *     [--bundle=<another build of assets/runtime/main/index.js>] [--node-args='--cpu-prof --cpu-prof-dir=<dir>']
 *
 * `--bundle` runs another build (e.g. one copied aside before a change) so before and after
 * are measured one after the other on one machine; `--node-args` passes flags to node (space-separated), e.g. a
 * CPU profile written when the controller stops (summarize it with bench/cpu-profile.ts);
 * `--no-floor` skips the floor (a profiling run).
 *
 * Uses the environment of `npm run e2e:up` when it is running, else starts a control plane
 * of its own (and stops it).
 */
import * as fs from 'fs';
import * as os from 'os';
import { describeRequests, diff, quiet, runNfsBench, SUBJECT_LABEL, sum, work, writes } from './nfs-bench';
import { watchObjects } from './object-watch';
import { cpuSeconds, residentMiB } from './process-stats';
import type { RequestCounter } from './request-counter';
import { CONTROLLER_DIR_PREFIX } from '../src/contract/path-template';
import { ControlPlane, waitFor } from '../test/e2e/harness';
import type { ControllerProcess, Kube, KubeObject } from '../test/e2e/support';
import { paths } from '../test/e2e/support';

const flag = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const N = Number(flag('n') ?? 500);
const BUNDLE = flag('bundle');
const NODE_ARGS = (flag('node-args') ?? '').split(' ').filter((a) => a !== '');
const NO_FLOOR = process.argv.includes('--no-floor');
const TIMEOUT_MS = 600_000 + N * 1_000;

interface Result {
  readonly name: string;
  readonly boundMs: number;
  readonly goneMs?: number;
  readonly directoriesLeft?: number;
  readonly requests?: Map<string, number>;
  readonly cpuSeconds?: number;
  readonly rssIdleMiB?: number;
  readonly peakRssMiB?: number;
  readonly connections?: number;
}

function claim(name: string, namespace: string, cls: string, subject: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace, labels: { [SUBJECT_LABEL]: subject } },
    spec: { storageClassName: cls, accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } },
  };
}

/** A PV bound in advance to one claim (what a provisioner would have created). */
function preBoundVolume(name: string, claimName: string, namespace: string, cls: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name, labels: { [SUBJECT_LABEL]: 'floor' } },
    spec: {
      storageClassName: cls,
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteMany'],
      persistentVolumeReclaimPolicy: 'Retain',
      nfs: { server: '127.0.0.1', path: `/bench/${name}` },
      claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name: claimName },
    },
  };
}

/** `kubectl create -f -` of all objects in one command: the burst. */
async function createAll(cp: ControlPlane, objects: KubeObject[]): Promise<void> {
  await cp.kubectl(['create', '-f', '-'], { input: objects.map((o) => JSON.stringify(o)).join('\n'), timeoutMs: TIMEOUT_MS });
}

/** Volume directories left under the export (the controller's own entries excluded). */
function volumeDirectories(root: string): number {
  return fs.readdirSync(root).filter((name) => !name.startsWith(CONTROLLER_DIR_PREFIX)).length;
}

async function measureFloor(cp: ControlPlane, kube: Kube, ns: string, cls: string): Promise<Result> {
  process.stderr.write(`[bench] floor: ${N} claims with ${N} pre-bound PVs\n`);
  const claims = await watchObjects(cp.kubeconfig, paths.pvc(ns), { labelSelector: `${SUBJECT_LABEL}=floor` });
  try {
    const objects = Array.from({ length: N }, (_, i) => `floor-${i}`).flatMap((name) =>
      [preBoundVolume(`${ns}-${name}`, name, ns, cls), claim(name, ns, cls, 'floor')]);
    const t0 = Date.now();
    await createAll(cp, objects);
    const bound = await withTimeout(claims.until((p) => p.count('Bound') >= N), () => `floor: ${claims.count('Bound')} of ${N} Bound`);
    process.stderr.write(`[bench] floor: ${N} Bound after ${((bound - t0) / 1000).toFixed(1)} s\n`);
    return { name: 'floor: pre-bound PVs, no provisioner', boundMs: bound - t0 };
  } finally {
    claims.stop();
    await cp.kubectl(['delete', 'pvc', '-n', ns, '-l', `${SUBJECT_LABEL}=floor`, '--wait=false'], { timeoutMs: TIMEOUT_MS });
    await cp.kubectl(['delete', 'pv', '-l', `${SUBJECT_LABEL}=floor`, '--wait=false'], { timeoutMs: TIMEOUT_MS });
    await waitFor('the floor\'s claims and PVs to be gone', async () =>
      (await kube.list(paths.pvc(ns))).length === 0 && (await kube.list(paths.pv(), { labelSelector: `${SUBJECT_LABEL}=floor` })).length === 0,
    { timeoutMs: TIMEOUT_MS, intervalMs: 1_000 });
  }
}

async function measureController(cp: ControlPlane, counter: RequestCounter, start: () => Promise<ControllerProcess>, ns: string, cls: string, root: string): Promise<Result> {
  process.stderr.write('[bench] cdk8s-storage NFS controller: starting\n');
  const controller = await start();
  await controller.waitForLog('caches synced; working', { timeoutMs: 120_000 });
  await quiet(counter);
  const rssIdleMiB = residentMiB(controller.pid).rss;
  const claims = await watchObjects(cp.kubeconfig, paths.pvc(ns), { labelSelector: `${SUBJECT_LABEL}=ours` });
  const volumes = await watchObjects(cp.kubeconfig, paths.pv(), { filter: (pv) => pv.spec?.storageClassName === cls });
  try {
    const before = counter.snapshot();
    const connections0 = counter.connectionsOpened;
    const cpu0 = cpuSeconds(controller.pid);
    const t0 = Date.now();
    await createAll(cp, Array.from({ length: N }, (_, i) => claim(`claim-${i}`, ns, cls, 'ours')));
    const bound = await withTimeout(claims.until((p) => p.count('Bound') >= N), () => `${claims.count('Bound')} of ${N} Bound`);
    process.stderr.write(`[bench] controller: ${N} Bound after ${((bound - t0) / 1000).toFixed(1)} s; deleting\n`);
    const t1 = Date.now();
    await cp.kubectl(['delete', 'pvc', '-n', ns, '-l', `${SUBJECT_LABEL}=ours`, '--wait=false'], { timeoutMs: TIMEOUT_MS });
    const gone = await withTimeout(volumes.until((p) => p.size === 0), () => `${volumes.size} of ${N} PVs left`);
    process.stderr.write(`[bench] controller: all PVs gone after ${((gone - t1) / 1000).toFixed(1)} s\n`);
    await quiet(counter);
    return {
      name: 'cdk8s-storage NFS controller',
      boundMs: bound - t0,
      goneMs: gone - t1,
      directoriesLeft: volumeDirectories(root),
      requests: diff(counter.snapshot(), before),
      cpuSeconds: cpuSeconds(controller.pid) - cpu0,
      rssIdleMiB,
      peakRssMiB: residentMiB(controller.pid).peak,
      connections: counter.connectionsOpened - connections0,
    };
  } finally {
    claims.stop();
    volumes.stop();
  }
}

async function withTimeout(promise: Promise<number>, describe: () => string): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${describe()}`)), TIMEOUT_MS);
  })]).finally(() => clearTimeout(timer));
}

function report(floor: Result | undefined, ours: Result, version: string): void {
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(40) : c.padStart(15))).join('');
  const s = (ms?: number) => (ms === undefined ? '-' : (ms / 1000).toFixed(1));
  const all = ours.requests ?? new Map<string, number>();
  const requests = work(all);
  const written = writes(all);
  const out = [
    '',
    `NFS burst: ${N} claims of one class created at once -> all Bound; then all deleted -> all PVs and directories gone`,
    `control plane ${version} (loopback), ${os.cpus().length} CPUs, kernel ${os.release()}`,
    `controller: ${BUNDLE ?? 'assets/runtime/main/index.js'}${NODE_ARGS.length > 0 ? `, node ${NODE_ARGS.join(' ')}` : ''}`,
    '',
    line(['', `all ${N} Bound (s)`, 'ratio to floor', 'PVs gone (s)', 'CPU (s)', 'CPU/claim (ms)', 'peak RSS (MiB)']),
    ...(floor ? [line([floor.name, s(floor.boundMs), '1.00x', '-', '-', '-', '-'])] : []),
    line([ours.name, s(ours.boundMs), floor ? `${(ours.boundMs / floor.boundMs).toFixed(2)}x` : '-', s(ours.goneMs),
      ours.cpuSeconds!.toFixed(1), (ours.cpuSeconds! * 1000 / N).toFixed(1), ours.peakRssMiB!.toFixed(0)]),
    '',
    `controller: resident set ${ours.rssIdleMiB!.toFixed(0)} MiB idle after its caches synced, peak ${ours.peakRssMiB!.toFixed(0)} MiB; `
      + `volume directories left under the export after the PVs were gone: ${ours.directoriesLeft}`,
    `controller requests from the burst until quiet after the deletes: ${sum(requests)} (${(sum(requests) / N).toFixed(2)} per claim), `
      + `writes ${written} (${(written / N).toFixed(2)} per claim)`,
    ...describeRequests(all),
    `  TLS connections the controller opened meanwhile: ${ours.connections}`,
    '',
    'Both bursts are one `kubectl create -f -` of every object; Bound is written by kube-controller-manager\'s PV binder, which bounds both times.',
    'Requests are counted by a proxy in front of the API server; CPU is utime+stime from /proc/<pid>/stat over the window; peak RSS is VmHWM.',
    '',
  ];
  process.stdout.write(out.join('\n'));
}

async function main(): Promise<void> {
  await runNfsBench(async ({ cp, kube, counter, ns, cls, root, version, startController }) => {
    const floor = NO_FLOOR ? undefined : await measureFloor(cp, kube, ns, cls);
    const ours = await measureController(cp, counter, () => startController([], { nodeArgs: NODE_ARGS, bundle: BUNDLE }), ns, cls, root);
    report(floor, ours, version);
  });
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});

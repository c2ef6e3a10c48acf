/**
 * Benchmark: the NFS controller in steady state with N bound volumes of its class. The
 * volumes are made quickly, as the controller and kube-controller-manager would have left
 * them: each claim created, its PV (built by the controller's own `buildVolume`) pre-bound
 * to it, both marked Bound, and its directory made on the export. Then, for the controller:
 *  - the time from its start to `caches synced; working`, its resident set and JS heap once
 *    it is quiet after that;
 *  - the same after an hour-equivalent of resyncs: six full relists (the default period is
 *    10 minutes; `--resync-seconds` shortens it) with the usage passes in between;
 *  - the time to `caches synced; working` again after a restart.
 *
 *   npx ts-node --transpile-only --project test/tsconfig.json bench/nfs-scale.ts [--n=5000] [--resync=20] [--before-bundle=<file>]
 *     [--node-args='<node flags>'] [--also-node-args='<node flags>'] [--heap-snapshot=<dir>]
 *
 * With `--before-bundle`, that bundle (built from an earlier commit) is measured first and the
 * bundle of this checkout after it, on the same volumes, so both see the same cluster.
 *
 * (`--transpile-only`: it imports the controller's own PV builder, whose client-node type import
 * plain ts-node does not accept.)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeRequests, diff, quiet, runNfsBench, SUBJECT_LABEL, sum, work, writes } from './nfs-bench';
import { watchObjects } from './object-watch';
import { cpuSeconds, residentMiB } from './process-stats';
import { K8S } from '../src/contract/keys';
import { forEachLimited } from '../src/runtime/core/limiter';
import { buildVolume } from '../src/runtime/nfs/provision';
import { sleep } from '../test/e2e/harness';
import type { RequestCounter } from './request-counter';
import type { ControllerProcess, KubeObject } from '../test/e2e/support';
import { ensureControllerBundle, paths } from '../test/e2e/support';

const option = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback);
const N = option('n', 5000);
const RESYNC_SECONDS = option('resync', 20);
/** An hour of the default 10-minute resync. */
const RELISTS = 6;
/** Requests at once while the volumes are made. */
const MAKE_CONCURRENCY = 32;
/** `--before-bundle=<file>`: a bundle built from an earlier commit, measured first on the same volumes. */
const BEFORE_BUNDLE = process.argv.find((a) => a.startsWith('--before-bundle='))?.slice('--before-bundle='.length);
/**
 * `--heap-snapshot=<dir>`: each subject writes a V8 heap snapshot there once synced and quiet,
 * and again after the relists (summarize with bench/heap-summary.ts). Taking one stops the
 * process for a few seconds and costs memory of its own, so the figures after it are not
 * comparable to a run without.
 */
const HEAP_SNAPSHOT_DIR = process.argv.find((a) => a.startsWith('--heap-snapshot='))?.slice('--heap-snapshot='.length);
/**
 * `--also-node-args='<node flags>'`: after the others, this checkout's bundle again with these
 * node flags (e.g. V8 heap settings), on the same volumes.
 */
/** `--node-args='<node flags>'`: node flags for every subject (e.g. the image's V8 settings). */
const NODE_ARGS = (process.argv.find((a) => a.startsWith('--node-args='))?.slice('--node-args='.length) ?? '').split(' ').filter((a) => a !== '');
const ALSO_NODE_ARGS = process.argv.find((a) => a.startsWith('--also-node-args='))?.slice('--also-node-args='.length);
const SUBJECTS: Array<{ name: string; bundle?: string; nodeArgs?: string[] }> = [
  ...BEFORE_BUNDLE ? [{ name: 'before', bundle: BEFORE_BUNDLE }, { name: 'after' }] : [{ name: 'cdk8s-storage' }],
  ...ALSO_NODE_ARGS ? [{ name: 'node flags', nodeArgs: ALSO_NODE_ARGS.split(' ').filter((a) => a !== '') }] : [],
];

interface Sample {
  readonly rssMiB: number;
  readonly heapMiB: number;
}

/** Resident set from /proc and the JS heap in use from the controller's /metrics. */
async function sample(controller: ControllerProcess): Promise<Sample> {
  const metrics = (await controller.http('/metrics')).body;
  const heap = Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(metrics)?.[1] ?? NaN);
  return { rssMiB: residentMiB(controller.pid).rss, heapMiB: heap / 2 ** 20 };
}

async function main(): Promise<void> {
  // Built now, before the volumes are made: sources edited while they are would change the subject.
  if (!process.env.E2E_CONTROLLER_BUNDLE) ensureControllerBundle();
  await runNfsBench(async ({ cp, kube, counter, ns, cls, provisionerName, root, version, startController }) => {
    const storageClass = await kube.get(`/apis/storage.k8s.io/v1/storageclasses/${cls}`);
    const identity = { provisionerName, server: '127.0.0.1', exportPath: '/bench' };
    const claims = await watchObjects(cp.kubeconfig, paths.pvc(ns), { labelSelector: `${SUBJECT_LABEL}=scale` });
    try {
      process.stderr.write(`[bench] making ${N} bound volumes\n`);
      const t0 = Date.now();
      await forEachLimited(Array.from({ length: N }, (_, i) => `claim-${i}`), MAKE_CONCURRENCY, async (name) => {
        const claim = await kube.create<KubeObject>(paths.pvc(ns), {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name, namespace: ns, labels: { [SUBJECT_LABEL]: 'scale' } },
          spec: { storageClassName: cls, accessModes: ['ReadWriteMany'], resources: { requests: { storage: '1Gi' } } },
        });
        const pvName = `pvc-${claim.metadata.uid}`;
        const relativePath = `${ns}-${name}-${pvName}`;
        fs.mkdirSync(path.join(root, relativePath));
        const pv = buildVolume(claim, storageClass as any, {
          pvName, className: cls, relativePath, directoryMode: 0o777, onDelete: 'DELETE', capacity: '1Gi',
        }, identity);
        await kube.create(paths.pv(), { ...pv, metadata: { ...pv.metadata, labels: { [SUBJECT_LABEL]: 'scale' } } });
        // What kube-controller-manager's binder writes, so it has nothing left to do.
        await kube.patch(paths.pvc(ns, name), {
          metadata: { annotations: { 'pv.kubernetes.io/bind-completed': 'yes', 'pv.kubernetes.io/bound-by-controller': 'yes', [K8S.storageProvisioner]: provisionerName } },
          spec: { volumeName: pvName },
        });
        await kube.patch(paths.pv(pvName), { status: { phase: 'Bound' } }, { subresource: 'status' });
        await kube.patch(paths.pvc(ns, name), { status: { phase: 'Bound', accessModes: ['ReadWriteMany'], capacity: { storage: '1Gi' } } }, { subresource: 'status' });
      });
      await claims.until((p) => p.count('Bound') >= N);
      process.stderr.write(`[bench] ${N} bound volumes made in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    } finally {
      claims.stop();
    }

    const results: SubjectResult[] = [];
    for (const subject of SUBJECTS) {
      // ensureControllerBundle reads this at every start: each subject runs its own bundle.
      if (subject.bundle) process.env.E2E_CONTROLLER_BUNDLE = subject.bundle;
      else delete process.env.E2E_CONTROLLER_BUNDLE;
      process.stderr.write(`[bench] subject: ${subject.name}\n`);
      const nodeArgs = [...NODE_ARGS, ...subject.nodeArgs ?? [],
        ...HEAP_SNAPSHOT_DIR ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${path.resolve(HEAP_SNAPSHOT_DIR)}`] : []];
      results.push(await measure(await startController([`--resync-seconds=${RESYNC_SECONDS}`], { nodeArgs }), counter));
    }

    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(52) : c.padStart(16))).join('');
    const perSubject = (cell: (r: SubjectResult) => string[]) => results.flatMap(cell);
    const out = [
      '',
      `NFS steady state: ${N} bound volumes of one class; --resync-seconds=${RESYNC_SECONDS}`,
      `control plane ${version} (loopback), ${os.cpus().length} CPUs, kernel ${os.release()}`,
      ...NODE_ARGS.length > 0 ? [`every subject: node ${NODE_ARGS.join(' ')}`] : [],
      `subjects, one after the other on the same volumes: ${SUBJECTS.map((s) => `${s.name} (${s.bundle ?? 'the bundle built from this checkout'}${s.nodeArgs ? `, node ${s.nodeArgs.join(' ')}` : ''})`).join('; ')}`,
      '',
      line(['', ...SUBJECTS.flatMap((s) => [`${s.name}: RSS`, 'JS heap (MiB)'])]),
      line(['after caches synced (first start)', ...perSubject((r) => [r.afterSync.rssMiB.toFixed(0), r.afterSync.heapMiB.toFixed(1)])]),
      line([`after ${RELISTS} relists (an hour at the default 600 s)`, ...perSubject((r) => [r.afterResyncs.rssMiB.toFixed(0), r.afterResyncs.heapMiB.toFixed(1)])]),
      line(['after a restart, caches synced', ...perSubject((r) => [r.afterRestart.rssMiB.toFixed(0), r.afterRestart.heapMiB.toFixed(1)])]),
      line(['peak RSS until after the relists (VmHWM)', ...perSubject((r) => [r.peakMiB.toFixed(0), ''])]),
      line(['start -> "caches synced; working" (s)', ...perSubject((r) => [(r.syncMs / 1000).toFixed(1), ''])]),
      line(['  after a restart (s)', ...perSubject((r) => [(r.restartMs / 1000).toFixed(1), ''])]),
      line(['CPU over the relists (s)', ...perSubject((r) => [r.cpu.toFixed(1), `(${r.windowSeconds.toFixed(0)} s)`])]),
      '',
    ];
    for (const [k, r] of results.entries()) {
      out.push(`${SUBJECTS[k].name}: requests over the relists ${sum(work(r.requests))}, writes ${writes(r.requests)}`, ...describeRequests(r.requests), '');
    }
    out.push('RSS is VmRSS from /proc/<pid>/status (MiB); the JS heap is nodejs_heap_size_used_bytes from the controller\'s /metrics.', '');
    process.stdout.write(out.join('\n'));
  });
}

interface SubjectResult {
  readonly syncMs: number;
  readonly restartMs: number;
  readonly afterSync: Sample;
  readonly afterResyncs: Sample;
  readonly afterRestart: Sample;
  readonly peakMiB: number;
  readonly cpu: number;
  readonly windowSeconds: number;
  readonly requests: Map<string, number>;
}

/** One subject, just started: synced, an hour of relists, a restart; stopped at the end. */
async function measure(controller: ControllerProcess, counter: RequestCounter): Promise<SubjectResult> {
  const started = Date.now();
  const synced = await controller.waitForLog('caches synced; working', { timeoutMs: 600_000 });
  const syncMs = Date.parse(synced.time as string) - started;
  await quiet(counter);
  const afterSync = await sample(controller);
  await heapSnapshot(controller, 'synced');
  process.stderr.write(`[bench] synced after ${(syncMs / 1000).toFixed(1)} s; ${afterSync.rssMiB.toFixed(0)} MiB; ${RELISTS} relists of ${RESYNC_SECONDS} s next\n`);

  const before = counter.snapshot();
  const cpu0 = cpuSeconds(controller.pid);
  const windowStart = Date.now();
  await sleep(RELISTS * RESYNC_SECONDS * 1.1 * 1000);
  await quiet(counter);
  const windowSeconds = (Date.now() - windowStart) / 1000;
  const afterResyncs = await sample(controller);
  await heapSnapshot(controller, 'after relists');
  const peakMiB = residentMiB(controller.pid).peak;
  const cpu = cpuSeconds(controller.pid) - cpu0;
  const requests = diff(counter.snapshot(), before);

  await controller.stop();
  const restarted = Date.now();
  await controller.start();
  const resynced = await controller.waitForLog('caches synced; working', { timeoutMs: 600_000 });
  const restartMs = Date.parse(resynced.time as string) - restarted;
  await quiet(counter);
  const afterRestart = await sample(controller);
  await controller.stop();
  return { syncMs, restartMs, afterSync, afterResyncs, afterRestart, peakMiB, cpu, windowSeconds, requests };
}

/** With --heap-snapshot: signals the controller to write one and waits until it is written. */
async function heapSnapshot(controller: ControllerProcess, when: string): Promise<void> {
  if (!HEAP_SNAPSHOT_DIR) return;
  fs.mkdirSync(HEAP_SNAPSHOT_DIR, { recursive: true });
  const known = new Set(fs.readdirSync(HEAP_SNAPSHOT_DIR));
  process.kill(controller.pid, 'SIGUSR2');
  for (let last = -1; ; await sleep(1000)) {
    const file = fs.readdirSync(HEAP_SNAPSHOT_DIR).find((f) => f.endsWith('.heapsnapshot') && !known.has(f));
    if (!file) continue;
    const size = fs.statSync(path.join(HEAP_SNAPSHOT_DIR, file)).size;
    if (size > 0 && size === last) {
      process.stderr.write(`[bench] heap snapshot ${when}: ${path.join(HEAP_SNAPSHOT_DIR, file)}\n`);
      return;
    }
    last = size;
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});

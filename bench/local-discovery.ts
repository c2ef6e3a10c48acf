/**
 * Benchmark: N mount points appear in a node's discovery directory -> N PersistentVolumes
 * Available, on a real control plane (the e2e harness). Measured for
 *  - the cdk8s-storage node agent: the built controller bundle, started with the args, env
 *    and class map the LocalStaticProvisioner construct synthesizes, under its ServiceAccount;
 *  - a named baseline: local-static-provisioner's discovery, EMULATED from its documented
 *    algorithm (bench/lsp-baseline.ts: fixed 10 s sleep between passes, serial PV creates,
 *    client-go's default 5 QPS / burst 10), because the real binary cannot run here.
 * Both run under the same ServiceAccount token behind a counting proxy, against the same
 * mounts, one after the other.
 *
 *   npx ts-node --project test/tsconfig.json bench/local-discovery.ts [--count=500]
 *
 * Uses the environment of `npm run e2e:up` when it is running, else starts a control plane
 * of its own (and stops it). Needs root (bind mounts).
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { benchControlPlane } from './control-plane';
import { CLK_TCK, cpuSeconds } from './process-stats';
import { watchAvailable } from './pv-watch';
import { RequestCounter } from './request-counter';
import { mountsUnder } from '../test/e2e/local/disks';
import { CLASS_LABEL, createNode, synthLocal } from '../test/e2e/local/fixture';
import { ControlPlane, sleep, waitFor } from '../test/e2e/harness';
import { applyManifests, Controllers, deleteManifests, Kube, Manifests, paths } from '../test/e2e/support';

const COUNT = Number(process.argv.find((a) => a.startsWith('--count='))?.slice('--count='.length) ?? 500);
/** Where the mounts start relative to the baseline's next pass: half its period, a 10 s loop's average wait. */
const BASELINE_PHASE_MS = 5_000;

interface Measurement {
  readonly name: string;
  readonly wallMs: number;
  readonly mountMs: number;
  readonly afterLastMountMs: number;
  /** From the first mount until all PV objects existed (the agent's part; Available is then up to kube-controller-manager). */
  readonly createdMs: number;
  readonly requests: Map<string, number>;
  readonly startupRequests: number;
  readonly cpuSeconds: number;
  readonly pvCreatesSeenByApiServer: number;
}

/** Successful PV creates counted by the API server itself (apiserver_request_total). */
async function apiServerPvCreates(cp: ControlPlane): Promise<number> {
  const metrics = (await cp.kubectl(['get', '--raw', '/metrics'])).stdout;
  let sum = 0;
  for (const line of metrics.split('\n')) {
    if (line.startsWith('apiserver_request_total{') && line.includes('resource="persistentvolumes"')
      && line.includes('verb="POST"') && line.includes('code="201"')) {
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

function diff(after: Map<string, number>, before: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of after) if (v - (before.get(k) ?? 0) > 0) out.set(k, v - (before.get(k) ?? 0));
  return out;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

/** Waits until the counter has not moved for `quietMs`. */
async function quiet(counter: RequestCounter, quietMs = 2_000): Promise<void> {
  let last = counter.total();
  let since = Date.now();
  await waitFor('the client to go quiet', async () => {
    const now = counter.total();
    if (now !== last) {
      last = now;
      since = Date.now();
    }
    return Date.now() - since >= quietMs;
  }, { timeoutMs: 120_000, intervalMs: 100 });
}

/** Bind-mounts every directory onto itself, from one shell (as fast as mount(8) goes). */
function mountAll(dirs: string[]): void {
  execFileSync('bash', ['-c', 'for d in "$@"; do mount --bind "$d" "$d" || exit 1; done', 'mount-all', ...dirs], { stdio: 'inherit' });
}

function unmountAll(root: string): void {
  const points = mountsUnder(root).filter((p) => p !== root);
  for (let i = 0; i < points.length; i += 100) execFileSync('umount', points.slice(i, i + 100));
}

async function deletePvs(cp: ControlPlane, kube: Kube, labelSelector: string): Promise<void> {
  await cp.kubectl(['delete', 'pv', '-l', labelSelector, '--wait=false'], { timeoutMs: 300_000 });
  await waitFor(`PVs ${labelSelector} to be gone`, async () => (await kube.list(paths.pv(), { labelSelector })).length === 0,
    { timeoutMs: 300_000, intervalMs: 500 });
}

interface Subject {
  readonly name: string;
  readonly labelSelector: string;
  /** Starts the process; resolves with its pid once it is up. */
  start(): Promise<number>;
  /** Resolves when mounting should start. */
  phase(): Promise<void>;
  stop(): Promise<void>;
}

async function measure(cp: ControlPlane, kube: Kube, counter: RequestCounter, subject: Subject, dirs: string[], root: string): Promise<Measurement> {
  process.stderr.write(`[bench] ${subject.name}: starting\n`);
  const before0 = counter.snapshot();
  const pid = await subject.start();
  try {
    await quiet(counter);
    const startupRequests = sum(diff(counter.snapshot(), before0));
    await subject.phase();
    const before = counter.snapshot();
    const cpu0 = cpuSeconds(pid);
    const creates0 = await apiServerPvCreates(cp);

    const watch = await watchAvailable(cp.kubeconfig, subject.labelSelector, dirs.length);
    const t0 = Date.now();
    mountAll(dirs);
    const mounted = Date.now();
    // Generous: the baseline needs count / 5 seconds at its client's rate limit.
    let timer: NodeJS.Timeout | undefined;
    const t1 = await Promise.race([watch.done, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${subject.name}: only ${watch.available()} of ${dirs.length} PVs Available`)), 120_000 + dirs.length * 1_000);
    })]).finally(() => {
      clearTimeout(timer);
      watch.stop();
    });
    await quiet(counter);
    const cpu1 = cpuSeconds(pid);
    const result: Measurement = {
      name: subject.name,
      wallMs: t1 - t0,
      createdMs: (await watch.created) - t0,
      mountMs: mounted - t0,
      afterLastMountMs: t1 - mounted,
      requests: diff(counter.snapshot(), before),
      startupRequests,
      cpuSeconds: cpu1 - cpu0,
      pvCreatesSeenByApiServer: (await apiServerPvCreates(cp)) - creates0,
    };
    process.stderr.write(`[bench] ${subject.name}: ${dirs.length} Available after ${(result.wallMs / 1000).toFixed(2)} s\n`);
    return result;
  } finally {
    await subject.stop();
    unmountAll(root);
    await deletePvs(cp, kube, subject.labelSelector);
  }
}

/** The cdk8s-storage agent, as the synthesized DaemonSet runs it. */
function agentSubject(controllers: Controllers, manifests: Manifests, node: string, cls: string, dir: string, kubeconfig: string): Subject {
  return {
    name: 'cdk8s-storage local agent',
    labelSelector: `${CLASS_LABEL}=${cls}`,
    start: async () => {
      const agent = await controllers.start(manifests, {
        name: 'bench-agent',
        workload: { kind: 'DaemonSet' },
        nodeName: node,
        kubeconfig,
        rewriteConfig: (_cm, key, value) => {
          if (key !== 'classes.json') return value;
          const map = JSON.parse(value);
          for (const c of map.classes) c.hostDir = c.mountDir = dir;
          return JSON.stringify(map);
        },
      });
      startedPids.add(agent.pid);
      return agent.pid;
    },
    phase: async () => undefined,
    stop: () => controllers.stopAll(),
  };
}

/** The emulated local-static-provisioner (bench/lsp-baseline.ts) as a child process. */
function baselineSubject(node: string, cls: string, dir: string, kubeconfig: string, runLabel: string): Subject {
  let child: ChildProcess | undefined;
  const passes: Array<{ nextAt: number }> = [];
  let stderr = '';
  return {
    name: 'baseline: local-static-provisioner (EMULATED)',
    labelSelector: runLabel,
    start: async () => {
      child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'lsp-baseline.ts'),
        `--kubeconfig=${kubeconfig}`, `--node=${node}`, `--class=${cls}`, `--host-dir=${dir}`, `--mount-dir=${dir}`, `--label=${runLabel}`], {
        cwd: path.join(__dirname, '..'),
        env: { ...process.env, TS_NODE_PROJECT: path.join(__dirname, '..', 'test', 'tsconfig.json') },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      startedPids.add(child.pid!);
      let buffered = '';
      child.stdout!.on('data', (chunk) => {
        buffered += chunk.toString();
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = JSON.parse(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
          if (line.msg === 'pass') passes.push(line);
        }
      });
      child.stderr!.on('data', (chunk) => { stderr += chunk.toString(); });
      await waitFor('the baseline\'s first pass', async () => {
        if (child!.exitCode !== null) throw new Error(`baseline exited: ${stderr}`);
        return passes.length > 0;
      }, { timeoutMs: 120_000, intervalMs: 100 });
      return child.pid!;
    },
    phase: async () => {
      // Start mounting BASELINE_PHASE_MS before its next pass (the average wait of its loop).
      const next = passes[passes.length - 1].nextAt;
      const wait = next - BASELINE_PHASE_MS - Date.now();
      if (wait < 0) throw new Error('the baseline\'s next pass is too close; the client did not go quiet in time');
      await sleep(wait);
    },
    stop: async () => {
      child?.kill('SIGTERM');
      if (/HTTP 403/.test(stderr)) throw new Error(`the baseline was refused by RBAC: ${stderr}`);
    },
  };
}

function report(results: Measurement[], count: number, version: string): void {
  const [ours, base] = results;
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(46) : c.padStart(14))).join('');
  const out = [
    '',
    `local discovery: ${count} bind mounts appear in one node's discovery directory -> ${count} Available PVs`,
    `control plane ${version} (loopback), ${os.cpus().length} CPUs, kernel ${os.release()}`,
    '',
    line(['', 'wall (s)', 'API requests', 'agent CPU (s)']),
    ...results.map((r) => line([r.name, (r.wallMs / 1000).toFixed(2), String(sum(r.requests)), r.cpuSeconds.toFixed(2)])),
    line(['ratio baseline / cdk8s-storage', `${(base.wallMs / ours.wallMs).toFixed(1)}x`, `${(sum(base.requests) / sum(ours.requests)).toFixed(2)}x`,
      `${(base.cpuSeconds / Math.max(ours.cpuSeconds, 1 / CLK_TCK)).toFixed(2)}x`]),
    '',
    ...results.flatMap((r) => [
      `${r.name}:`,
      `  mounting took ${(r.mountMs / 1000).toFixed(2)} s; all ${count} PVs existed ${(r.createdMs / 1000).toFixed(2)} s after the first mount,`
        + ` all Available ${(r.afterLastMountMs / 1000).toFixed(2)} s after the last mount`,
      `  requests in the window: ${[...r.requests.entries()].sort().map(([k, v]) => `${k} ${v}`).join(', ')}`,
      `  PV creates counted by kube-apiserver (apiserver_request_total POST 201): ${r.pvCreatesSeenByApiServer}`,
      `  requests at startup (before the window): ${r.startupRequests}`,
    ]),
    '',
    'The baseline is an EMULATION of sig-storage local-static-provisioner, not the real binary:',
    `its documented loop (a 10 s sleep after each pass, serial PV creates, client-go's default 5 QPS / burst 10).`,
    `Mounting started ${BASELINE_PHASE_MS / 1000} s before its next pass, the average wait of a 10 s loop.`,
    'Requests are counted by a proxy in front of the API server; CPU is utime+stime from /proc/<pid>/stat during the window.',
    'Available is set by kube-controller-manager\'s PV controller, one PV at a time; with fast creates it, not the agent, bounds the wall time.',
    '',
  ];
  process.stdout.write(out.join('\n'));
}

/** Processes this benchmark started (killed if it is interrupted). */
const startedPids = new Set<number>();

function killAll(): void {
  for (const pid of startedPids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Undone synchronously if the benchmark is interrupted (Ctrl-C, a timeout). */
const onInterrupt: Array<() => void> = [];
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`[bench] ${signal}: stopping processes and unmounting\n`);
    for (const undo of onInterrupt.reverse()) {
      try {
        undo();
      } catch (err) {
        process.stderr.write(`${err}\n`);
      }
    }
    process.exit(130);
  });
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root: the benchmark bind-mounts directories');
  const { cp, release } = await benchControlPlane();
  const kube = Kube.fromKubeconfig(cp.kubeconfig);
  const id = Math.random().toString(16).slice(2, 8);
  const ns = `bench-local-${id}`;
  const cls = `${ns}-ssd`;
  const node = `${ns}-node`;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-local-'));
  const dir = path.join(root, 'disks');
  const manifests = synthLocal(ns, (p) => p.addStorageClass('ssd', { name: cls, hostDir: '/mnt/disks/ssd' }));
  const controllers = new Controllers(() => cp);
  const counter = new RequestCounter(cp.server, fs.readFileSync(cp.caFile));
  onInterrupt.push(() => unmountAll(root));
  onInterrupt.push(() => killAll());
  try {
    await applyManifests(cp, manifests);
    await createNode(cp, node, `${node}-hostname`);
    // The mount targets exist before the agents start (an administrator's mkdir); the
    // measurement is about the mounts appearing.
    const dirs = Array.from({ length: COUNT }, (_, i) => path.join(dir, `vol-${String(i).padStart(4, '0')}`));
    for (const d of dirs) fs.mkdirSync(d, { recursive: true });

    const proxy = await counter.start();
    const sa = manifests.one('DaemonSet').spec.template.spec.serviceAccountName;
    const kubeconfig = counter.rewriteKubeconfig(await cp.serviceAccountKubeconfig(ns, sa), proxy, path.join(root, 'agent.kubeconfig'));
    const version = JSON.parse((await cp.kubectl(['version', '-o', 'json'])).stdout).serverVersion.gitVersion;

    const results = [
      await measure(cp, kube, counter, agentSubject(controllers, manifests, node, cls, dir, kubeconfig), dirs, root),
      await measure(cp, kube, counter, baselineSubject(node, cls, dir, kubeconfig, `bench.cdk8s-storage.dev/run=${id}`), dirs, root),
    ];
    report(results, COUNT, version);
  } finally {
    await controllers.stopAll().catch((err) => process.stderr.write(`${err}\n`));
    await counter.stop();
    try {
      unmountAll(root);
    } finally {
      if (mountsUnder(root).filter((p) => p !== root).length === 0) fs.rmSync(root, { recursive: true, force: true });
    }
    await cp.kubectl(['delete', 'pv', '-l', `${CLASS_LABEL}=${cls}`, '--wait=false'], { allowFailure: true, timeoutMs: 300_000 });
    await cp.kubectl(['delete', 'node', node, '--wait=false'], { allowFailure: true });
    await deleteManifests(cp, manifests);
    await release();
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});

/**
 * Runs a controller the way its synthesized workload would, as a local process:
 * the built bundle (`node assets/runtime/main/index.js`) with the container's
 * args and env from the Deployment/DaemonSet in the manifests, under a token of
 * the workload's ServiceAccount (so the synthesized RBAC is what it gets).
 *
 * Only what cannot be the same outside a pod is changed, and each change is
 * appended as a later flag (the controller lets the last one win), so the
 * manifest's own args stay in the command line as written:
 * - paths inside mounted volumes point at local directories (`mounts`; ConfigMap
 *   volumes are written out from the manifests, emptyDirs are temp directories,
 *   hostPaths are themselves);
 * - `--kubeconfig=<ServiceAccount token kubeconfig>`, `--http-port=0`;
 * - downward-API env (POD_NAME, POD_NAMESPACE, NODE_NAME, ...) is filled in as
 *   the kubelet would.
 *
 * Output goes to `<harness log dir>/<name>-<n>.log` (one file per start), which
 * the log scanner reads: any 403 fails the test (see `Controllers`).
 */
import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ensureControllerBundle } from './bundle';
import { KubeObject } from './kube';
import { assertNoForbidden, ForbiddenWindow, LogEntry, LogLine, readLogLines } from './logs';
import { Manifests } from './synth';
import { connect, ControlPlane, isRunning, ProcessRecord, StopWaiting, waitFor } from '../harness';

export interface ControllerOptions {
  /** Base name of the log files (unique in the run). Default: the workload name plus a random suffix. */
  readonly name?: string;
  /** Which workload to take the container from (default: the only one in the manifests). */
  readonly workload?: { readonly kind?: string; readonly name?: string };
  /** Container name (default: the first container). */
  readonly container?: string;
  /**
   * Local directories for container mount paths the args refer to, e.g.
   * `{ '/persistentvolumes': nfs.root }`. ConfigMap, emptyDir and hostPath
   * volumes need no entry.
   */
  readonly mounts?: Readonly<Record<string, string>>;
  /** Rewrites a ConfigMap value before it is written out for a ConfigMap volume (e.g. container paths inside a config file). */
  readonly rewriteConfig?: (configMapName: string, key: string, value: string) => string;
  /** The pod's node for `spec.nodeName` (NODE_NAME). Default `e2e-node`. */
  readonly nodeName?: string;
  /** The pod's name for `metadata.name` (POD_NAME). Default: `<workload>-<random>`, new for every start, as a new pod would get. */
  readonly podName?: string;
  /** Kubeconfig to use. Default: a token of the workload's ServiceAccount. */
  readonly kubeconfig?: string;
  /** Arguments appended after everything else. */
  readonly extraArgs?: readonly string[];
  /** How long to wait for the `started` log line (default 90 s). */
  readonly startTimeoutMs?: number;
  /** Flags for node itself, before the bundle (e.g. `--cpu-prof` for a benchmark's profile). */
  readonly nodeArgs?: readonly string[];
  /** Another build of the bundle to run instead of the repo's (a benchmark's "before"). */
  readonly bundle?: string;
}

/** What a start needs, resolved once from the manifests. */
interface LaunchSpec {
  readonly name: string;
  readonly workloadName: string;
  readonly namespace: string;
  readonly args: string[];
  readonly env: (podName: string) => Record<string, string>;
  readonly podName?: string;
  readonly startTimeoutMs: number;
  readonly nodeArgs: readonly string[];
  readonly bundle?: string;
}

/** One start of the process. */
interface Incarnation {
  readonly record: ProcessRecord;
  readonly logFile: string;
  readonly podName: string;
  readonly startedAt: number;
  httpPort?: number;
  /** Lines already passed by the 403 scan. */
  scanned: number;
}

const FIELD_PATHS_ON_LOOPBACK = ['status.podIP', 'status.hostIP', 'status.podIPs'];

/** A controller process (and its restarts). */
export class ControllerProcess {
  private readonly incarnations: Incarnation[] = [];

  constructor(private readonly cp: ControlPlane, private readonly spec: LaunchSpec) {}

  /** The full argument list given to the bundle. */
  public get args(): readonly string[] {
    return this.spec.args;
  }

  public get name(): string {
    return this.spec.name;
  }

  private get current(): Incarnation {
    const c = this.incarnations[this.incarnations.length - 1];
    if (!c) {
      throw new Error(`controller ${this.spec.name} was never started`);
    }
    return c;
  }

  public get pid(): number {
    return this.current.record.pid;
  }

  /** POD_NAME of the current start (the Lease holder identity starts with it). */
  public get podName(): string {
    return this.current.podName;
  }

  /** The ops port of the current start. */
  public get httpPort(): number {
    const port = this.current.httpPort;
    if (port === undefined) {
      throw new Error(`controller ${this.spec.name} has not logged its port yet`);
    }
    return port;
  }

  /** Log file of the current start. */
  public get logFile(): string {
    return this.current.logFile;
  }

  /** Number of starts so far. */
  public get starts(): number {
    return this.incarnations.length;
  }

  public get running(): boolean {
    const c = this.incarnations[this.incarnations.length - 1];
    return c !== undefined && isRunning(c.record);
  }

  /**
   * Starts the process (again, if it ran before) and waits for its `started`
   * log line. Throws with the log's tail if it exits first.
   */
  public async start(): Promise<this> {
    if (this.running) {
      throw new Error(`controller ${this.spec.name} is already running (pid ${this.pid})`);
    }
    const bundle = this.spec.bundle ?? ensureControllerBundle();
    const n = this.incarnations.length + 1;
    const podName = this.spec.podName ?? `${this.spec.workloadName}-${randomBytes(3).toString('hex')}`;
    const processName = `${this.spec.name}-${n}`;
    const record = this.cp.startProcess({
      name: processName,
      command: process.execPath,
      args: [...this.spec.nodeArgs, bundle, ...this.spec.args],
      env: this.spec.env(podName),
      cwd: os.tmpdir(),
    });
    const incarnation: Incarnation = { record, logFile: record.logFile, podName, startedAt: Date.now(), scanned: 0 };
    this.incarnations.push(incarnation);
    await waitFor(`controller ${processName} to log "started"`, async () => {
      const started = readLogLines(record.logFile).find((l) => l.entry?.msg === 'started');
      if (started) {
        incarnation.httpPort = Number(started.entry!.httpPort);
        return true;
      }
      if (!isRunning(record)) {
        throw new StopWaiting(`controller ${processName} exited before it started:\n${this.tail(incarnation)}`);
      }
      return false;
    }, { timeoutMs: this.spec.startTimeoutMs, intervalMs: 100, onTimeout: () => this.tail(incarnation) });
    return this;
  }

  /** Sends a signal to the process (SIGKILL = a crash) and waits until it is gone. */
  public async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 60_000): Promise<void> {
    const c = this.current;
    if (!isRunning(c.record)) {
      return;
    }
    process.kill(c.record.pid, signal);
    await waitFor(`controller ${this.spec.name} (pid ${c.record.pid}) to exit after ${signal}`, async () => !isRunning(c.record), { timeoutMs, intervalMs: 50 });
    // Drop it from the harness's list of processes to stop at teardown.
    await this.cp.stopProcess(c.record, { graceMs: 0 });
  }

  /** Graceful stop: SIGTERM, and SIGKILL if it has not exited within `graceMs` (default 30 s). */
  public async stop(graceMs = 30_000): Promise<void> {
    const c = this.incarnations[this.incarnations.length - 1];
    if (c) {
      await this.cp.stopProcess(c.record, { graceMs });
    }
  }

  /** kill -9 and start again (a pod crash and the kubelet's restart). */
  public async crashAndRestart(): Promise<this> {
    await this.kill('SIGKILL');
    return this.start();
  }

  /** Log lines of every start so far (or of the current one only). */
  public lines(options: { currentOnly?: boolean } = {}): LogLine[] {
    const which = options.currentOnly ? [this.current] : this.incarnations;
    return which.flatMap((c) => readLogLines(c.logFile));
  }

  /** Parsed JSON log entries (optionally only those with this `msg`). */
  public entries(msg?: string, options: { currentOnly?: boolean } = {}): LogEntry[] {
    return this.lines(options).map((l) => l.entry).filter((e): e is LogEntry => e !== undefined && (msg === undefined || e.msg === msg));
  }

  /** Waits for a log entry with this `msg` in the current start; returns it. */
  public async waitForLog(msg: string, options: { timeoutMs?: number; where?: (e: LogEntry) => boolean } = {}): Promise<LogEntry> {
    return waitFor(`controller ${this.spec.name} to log "${msg}"`, async () => {
      const found = this.entries(msg, { currentOnly: true }).find((e) => options.where?.(e) ?? true);
      if (!found && !this.running) {
        throw new StopWaiting(`controller ${this.spec.name} exited:\n${this.tail(this.current)}`);
      }
      return found;
    }, { timeoutMs: options.timeoutMs ?? 120_000, intervalMs: 100, onTimeout: () => this.tail(this.current) });
  }

  /** GET on the ops port (`/readyz`, `/healthz`, `/metrics`). */
  public async http(pathName: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${this.httpPort}${pathName}`);
    return { status: res.status, body: await res.text() };
  }

  /** Throws on any 403 in log lines not scanned before (each line is reported once), except inside `windows`. */
  public scanForForbidden(windows: readonly ForbiddenWindow[] = []): void {
    const fresh: LogLine[] = [];
    for (const c of this.incarnations) {
      const lines = readLogLines(c.logFile);
      fresh.push(...lines.slice(c.scanned));
      c.scanned = lines.length;
    }
    assertNoForbidden(fresh, `log of controller ${this.spec.name}`, windows);
  }

  private tail(c: Incarnation): string {
    return `--- ${c.logFile} (tail) ---\n${readLogLines(c.logFile).slice(-30).map((l) => l.text).join('\n')}`;
  }
}

/** Controllers started by one test file; see `useControllers`. */
export class Controllers {
  private readonly all: ControllerProcess[] = [];
  private readonly tmpDirs: string[] = [];
  private readonly windows: ForbiddenWindow[] = [];

  constructor(private readonly cpProvider: () => ControlPlane) {}

  private get cp(): ControlPlane {
    return this.cpProvider();
  }

  /**
   * Resolves the workload's container from the manifests (which must have been
   * applied: the ServiceAccount token is minted here) and returns an unstarted
   * process; call `start()`.
   */
  public async create(manifests: Manifests, options: ControllerOptions = {}): Promise<ControllerProcess> {
    const spec = await this.resolve(manifests, options);
    const controller = new ControllerProcess(this.cp, spec);
    this.all.push(controller);
    return controller;
  }

  /** `create` + `start`. */
  public async start(manifests: Manifests, options: ControllerOptions = {}): Promise<ControllerProcess> {
    return (await this.create(manifests, options)).start();
  }

  /**
   * Tolerates 403s logged between `from` and `to` (epoch ms) and/or matching a
   * pattern, e.g. while a restarted kube-apiserver loads its RBAC roles. Keep
   * windows as tight as the event allows: every other 403 still fails the test.
   */
  public allowForbiddenDuring(window: ForbiddenWindow): void {
    this.windows.push(window);
  }

  /** Fails on any 403 logged by any controller since the last scan (outside the allowed windows). */
  public scanForForbidden(): void {
    const errors: string[] = [];
    for (const c of this.all) {
      try {
        c.scanForForbidden(this.windows);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (errors.length > 0) {
      throw new Error(errors.join('\n'));
    }
  }

  /** Stops every controller (SIGTERM first), then scans their logs one last time. */
  public async stopAll(): Promise<void> {
    await Promise.all(this.all.map((c) => c.stop(15_000)));
    for (const dir of this.tmpDirs.splice(0)) {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    this.scanForForbidden();
  }

  private async resolve(manifests: Manifests, options: ControllerOptions): Promise<LaunchSpec> {
    const workload = pickWorkload(manifests, options.workload);
    const workloadName: string = workload.metadata.name;
    const namespace: string = workload.metadata.namespace ?? 'default';
    const podSpec = workload.spec?.template?.spec;
    const containers: KubeObject[] = podSpec?.containers ?? [];
    const container = options.container ? containers.find((c) => c.name === options.container) : containers[0];
    if (!container) {
      throw new Error(`${workload.kind} ${workloadName} has no container${options.container ? ` named ${options.container}` : ''}`);
    }
    const serviceAccount: string = podSpec.serviceAccountName ?? 'default';
    const kubeconfig = options.kubeconfig ?? await this.cp.serviceAccountKubeconfig(namespace, serviceAccount);
    const mounts = this.localMounts(manifests, podSpec, container, options);

    const original: string[] = [...(container.args ?? [])];
    const overrides: string[] = [];
    const positional: string[] = [];
    for (const arg of original) {
      const flag = /^(--[^=]+)=(.*)$/s.exec(arg);
      const value = flag ? flag[2] : arg;
      const local = toLocalPath(value, mounts);
      if (local === undefined) {
        positional.push(arg);
      } else if (flag) {
        positional.push(arg);
        overrides.push(`${flag[1]}=${local}`);
      } else {
        // A bare path argument cannot be overridden by a later flag: replace it in place.
        positional.push(local);
      }
    }
    const args = [...positional, ...overrides, `--kubeconfig=${kubeconfig}`, '--http-port=0', ...(options.extraArgs ?? [])];

    const labels: Record<string, string> = workload.spec?.template?.metadata?.labels ?? {};
    const nodeName = options.nodeName ?? 'e2e-node';
    const env = (podName: string): Record<string, string> => {
      const fields: Record<string, string> = {
        'metadata.name': podName,
        'metadata.namespace': namespace,
        'metadata.uid': `e2e-${podName}`,
        'spec.nodeName': nodeName,
        'spec.serviceAccountName': serviceAccount,
      };
      for (const f of FIELD_PATHS_ON_LOOPBACK) fields[f] = '127.0.0.1';
      for (const [k, v] of Object.entries(labels)) fields[`metadata.labels['${k}']`] = v;
      const out: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
      for (const from of container.envFrom ?? []) {
        if (!from.configMapRef) {
          throw new Error(`${container.name}: envFrom other than configMapRef is not supported by the e2e support`);
        }
        for (const [k, v] of Object.entries(configMapData(manifests, from.configMapRef.name))) out[`${from.prefix ?? ''}${k}`] = v;
      }
      for (const e of container.env ?? []) {
        out[e.name] = envValue(e, fields, manifests);
      }
      return out;
    };

    return {
      name: options.name ?? `${workloadName}-${randomBytes(3).toString('hex')}`,
      workloadName,
      namespace,
      args,
      env,
      podName: options.podName,
      startTimeoutMs: options.startTimeoutMs ?? 90_000,
      nodeArgs: options.nodeArgs ?? [],
      bundle: options.bundle,
    };
  }

  /** Container mount path -> local directory, for every mount the process can use. */
  private localMounts(manifests: Manifests, podSpec: KubeObject, container: KubeObject, options: ControllerOptions): Map<string, string> {
    const mounts = new Map<string, string>();
    for (const [mountPath, dir] of Object.entries(options.mounts ?? {})) {
      mounts.set(path.posix.normalize(mountPath), dir);
    }
    for (const m of container.volumeMounts ?? []) {
      const mountPath = path.posix.normalize(m.mountPath);
      if (mounts.has(mountPath)) continue;
      const volume = (podSpec.volumes ?? []).find((v: KubeObject) => v.name === m.name);
      if (!volume) {
        throw new Error(`container ${container.name} mounts volume ${m.name}, which the pod does not define`);
      }
      let dir: string | undefined;
      if (volume.configMap) {
        dir = this.tmpDir(`cm-${volume.configMap.name}`);
        const data = configMapData(manifests, volume.configMap.name);
        const items: Array<{ key: string; path: string }> = volume.configMap.items ?? Object.keys(data).map((key) => ({ key, path: key }));
        for (const item of items) {
          const file = path.join(dir, item.path);
          fs.mkdirSync(path.dirname(file), { recursive: true });
          const value = data[item.key];
          fs.writeFileSync(file, options.rewriteConfig ? options.rewriteConfig(volume.configMap.name, item.key, value) : value);
        }
      } else if (volume.emptyDir) {
        dir = this.tmpDir(`empty-${m.name}`);
      } else if (volume.hostPath) {
        dir = volume.hostPath.path;
      }
      if (dir !== undefined) {
        mounts.set(mountPath, m.subPath ? path.join(dir, m.subPath) : dir);
      }
    }
    return mounts;
  }

  private tmpDir(label: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cdk8s-storage-e2e-${label.replace(/[^A-Za-z0-9_.-]/g, '_')}-`));
    this.tmpDirs.push(dir);
    return dir;
  }
}

function pickWorkload(manifests: Manifests, which: ControllerOptions['workload']): KubeObject {
  const candidates = manifests.workloads().filter((w) =>
    (which?.kind === undefined || w.kind === which.kind) && (which?.name === undefined || w.metadata?.name === which.name));
  if (candidates.length !== 1) {
    const all = manifests.workloads().map((w) => `${w.kind}/${w.metadata?.name}`).join(', ') || 'none';
    throw new Error(`expected exactly one workload${which ? ` matching ${JSON.stringify(which)}` : ''}, found ${candidates.length} (workloads: ${all})`);
  }
  return candidates[0];
}

function configMapData(manifests: Manifests, name: string): Record<string, string> {
  const cm = manifests.ofKind('ConfigMap').find((c) => c.metadata?.name === name);
  if (!cm) {
    throw new Error(`ConfigMap ${name} is not in the manifests`);
  }
  return cm.data ?? {};
}

function envValue(e: KubeObject, fields: Record<string, string>, manifests: Manifests): string {
  if (e.value !== undefined) {
    return String(e.value);
  }
  const from = e.valueFrom ?? {};
  if (from.fieldRef) {
    const v = fields[from.fieldRef.fieldPath];
    if (v === undefined) {
      throw new Error(`env ${e.name}: the e2e support does not fill in fieldPath ${from.fieldRef.fieldPath}`);
    }
    return v;
  }
  if (from.configMapKeyRef) {
    const v = configMapData(manifests, from.configMapKeyRef.name)[from.configMapKeyRef.key];
    if (v === undefined) {
      throw new Error(`env ${e.name}: ConfigMap ${from.configMapKeyRef.name} has no key ${from.configMapKeyRef.key}`);
    }
    return v;
  }
  throw new Error(`env ${e.name}: unsupported source ${JSON.stringify(from)}`);
}

/** The local path for a container path inside a mapped mount; undefined when it is in none. */
function toLocalPath(value: string, mounts: Map<string, string>): string | undefined {
  if (!value.startsWith('/')) {
    return undefined;
  }
  // Longest mount path first: a nested mount wins over its parent.
  for (const mountPath of [...mounts.keys()].sort((a, b) => b.length - a.length)) {
    if (value === mountPath || value.startsWith(mountPath.endsWith('/') ? mountPath : `${mountPath}/`)) {
      return path.join(mounts.get(mountPath)!, path.posix.relative(mountPath, value));
    }
  }
  return undefined;
}

/**
 * Controllers for one test file, with hooks: after each test their logs are
 * scanned for 403 (failing that test), and after all tests they are stopped.
 * Call at the top level of a test file (or inside a describe).
 */
export function useControllers(cpProvider: () => ControlPlane = () => connect().controlPlane): Controllers {
  let cp: ControlPlane | undefined;
  const controllers = new Controllers(() => (cp ??= cpProvider()));
  afterEach(() => controllers.scanForForbidden());
  afterAll(() => controllers.stopAll());
  return controllers;
}

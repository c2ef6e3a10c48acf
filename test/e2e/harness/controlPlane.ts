/**
 * A real Kubernetes control plane on loopback for the e2e suite: etcd,
 * kube-apiserver (RBAC + Node authorization, ServiceAccount tokens),
 * kube-controller-manager (PV binder, expander, protection controllers, ...) and
 * kube-scheduler. There is no kubelet: Node objects created through `createNode`
 * stand in for nodes.
 *
 * Every process runs in its own process group with its output in
 * `<dir>/logs/<component>.log`; all state lives under one temp directory. A
 * `ControlPlane` can be serialised (`state()`) and re-attached (`ControlPlane.attach`)
 * from another process, which is how the jest global setup shares one control
 * plane with every test file and how `cli.ts up`/`down` work.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import {
  freePort,
  httpGet,
  isRunning,
  ProcessRecord,
  removeStateDir,
  run,
  RunResult,
  startProcess,
  StopWaiting,
  stopProcess,
  sweepProcesses,
  tail,
  waitFor,
} from './proc';

export type Component = 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler';

/** Controllers the suite needs; node lifecycle (no kubelets here), attach/detach and cloud controllers stay off. */
export const CONTROLLERS = [
  'serviceaccount-token-controller',
  'serviceaccount-controller',
  'namespace-controller',
  'garbage-collector-controller',
  'clusterrole-aggregation-controller',
  'root-ca-certificate-publisher-controller',
  'persistentvolume-binder-controller',
  'persistentvolume-expander-controller',
  'persistentvolumeclaim-protection-controller',
  'persistentvolume-protection-controller',
  'ephemeral-volume-controller',
  'replicaset-controller',
  'deployment-controller',
  'daemonset-controller',
  'statefulset-controller',
  'job-controller',
  'cronjob-controller',
  'ttl-after-finished-controller',
  'disruption-controller',
  'endpoints-controller',
  'endpointslice-controller',
  'pod-garbage-collector-controller',
  'resourcequota-controller',
  'service-cidr-controller',
];

export interface ControlPlaneOptions {
  /** Directory holding etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl. */
  readonly binDir: string;
  /** Parent of the temp directory (default: os.tmpdir()). */
  readonly tmpRoot?: string;
  /** Default 10.0.0.0/24. */
  readonly serviceClusterIpRange?: string;
  readonly extraApiServerArgs?: string[];
  readonly extraControllerManagerArgs?: string[];
  readonly extraSchedulerArgs?: string[];
  /** Where `state()` is written after changes (restarts), so other processes see the new pids. */
  readonly stateFile?: string;
  /** Timeout for each component to become ready (default 90 s). */
  readonly readyTimeoutMs?: number;
}

export interface ControlPlaneState {
  readonly kind: 'cdk8s-storage-e2e-control-plane';
  readonly dir: string;
  readonly binDir: string;
  readonly kubeconfig: string;
  readonly server: string;
  readonly caFile: string;
  readonly ports: Record<Component, number>;
  readonly processes: Partial<Record<Component, ProcessRecord>>;
  /** Processes started by tests through `startProcess`; `stop()` stops them first. */
  readonly managed?: ProcessRecord[];
  readonly stateFile?: string;
  readonly readyTimeoutMs: number;
}

export interface KubectlOptions {
  /** Written to kubectl's stdin. */
  readonly input?: string;
  /** Another kubeconfig (e.g. from `serviceAccountKubeconfig`). */
  readonly kubeconfig?: string;
  /** Return the result instead of throwing when kubectl exits non-zero. */
  readonly allowFailure?: boolean;
  readonly timeoutMs?: number;
}

export interface NodeOptions {
  readonly cpu?: string;
  readonly memory?: string;
  readonly pods?: string;
  readonly taints?: Array<{ key: string; value?: string; effect: string }>;
}

const SA_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export class ControlPlane {
  /** Starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler, and waits until all are ready. */
  public static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    for (const bin of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubectl']) {
      if (!fs.existsSync(path.join(options.binDir, bin))) {
        throw new Error(`${bin} not found in ${options.binDir}`);
      }
    }
    const dir = fs.mkdtempSync(path.join(options.tmpRoot ?? os.tmpdir(), 'cdk8s-storage-e2e-'));
    for (const sub of ['logs', 'pki', 'etcd', 'kubeconfigs', 'kube-controller-manager', 'kube-scheduler']) {
      fs.mkdirSync(path.join(dir, sub), { recursive: true });
    }
    const pki = await makePki(path.join(dir, 'pki'));
    const apiPort = await freePort();
    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfig = path.join(dir, 'kubeconfig');
    writeKubeconfig(kubeconfig, {
      server,
      ca: fs.readFileSync(pki.caCert),
      user: {
        'client-certificate-data': fs.readFileSync(pki.adminCert).toString('base64'),
        'client-key-data': fs.readFileSync(pki.adminKey).toString('base64'),
      },
      userName: 'e2e-admin',
    });
    const cp = new ControlPlane(
      {
        kind: 'cdk8s-storage-e2e-control-plane',
        dir,
        binDir: options.binDir,
        kubeconfig,
        server,
        caFile: pki.caCert,
        ports: { 'etcd': 0, 'kube-apiserver': apiPort, 'kube-controller-manager': 0, 'kube-scheduler': 0 },
        processes: {},
        stateFile: options.stateFile,
        readyTimeoutMs: options.readyTimeoutMs ?? 90_000,
      },
      options,
    );
    try {
      await cp.startEtcd();
      await cp.startApiServer();
      await Promise.all([cp.startControllerManager(), cp.startScheduler()]);
      // The ServiceAccount admission plugin refuses pods until the namespace's
      // default ServiceAccount exists; wait for the controller to create it.
      await waitFor('the default ServiceAccount', async () => {
        const r = await cp.kubectl(['get', 'serviceaccount', 'default', '-n', 'default', '-o', 'name'], { allowFailure: true });
        return r.code === 0;
      }, { timeoutMs: cp.s.readyTimeoutMs });
    } catch (err) {
      await cp.stop({ keepLogs: true });
      throw err;
    }
    cp.persist();
    return cp;
  }

  /** Re-attaches to a control plane started elsewhere (e.g. by the jest global setup). */
  public static attach(state: ControlPlaneState | string): ControlPlane {
    const s: ControlPlaneState = typeof state === 'string' ? JSON.parse(fs.readFileSync(state, 'utf8')) : state;
    return new ControlPlane(s, { binDir: s.binDir, stateFile: s.stateFile });
  }

  private s: ControlPlaneState;
  private readonly options: ControlPlaneOptions;

  private constructor(state: ControlPlaneState, options: ControlPlaneOptions) {
    this.s = state;
    this.options = options;
  }

  /** The temp directory that holds everything (data, certificates, logs). */
  public get dir(): string { return this.s.dir; }
  /** Admin (system:masters) kubeconfig. */
  public get kubeconfig(): string { return this.s.kubeconfig; }
  /** https://127.0.0.1:<port> */
  public get server(): string { return this.s.server; }
  public get caFile(): string { return this.s.caFile; }
  public get binDir(): string { return this.s.binDir; }
  public get logDir(): string { return path.join(this.s.dir, 'logs'); }
  public get kubectlPath(): string { return path.join(this.s.binDir, 'kubectl'); }

  /** Serialisable description; `ControlPlane.attach(state)` rebuilds a handle from it. */
  public state(): ControlPlaneState {
    return JSON.parse(JSON.stringify(this.s));
  }

  /** Runs the built kubectl with the admin kubeconfig (or `options.kubeconfig`). Throws on a non-zero exit unless `allowFailure`. */
  public async kubectl(args: string[], options: KubectlOptions = {}): Promise<RunResult> {
    const kubeconfig = options.kubeconfig ?? this.s.kubeconfig;
    const result = await run(this.kubectlPath, ['--kubeconfig', kubeconfig, ...args], {
      input: options.input,
      timeoutMs: options.timeoutMs ?? 60_000,
      env: { ...process.env, KUBECONFIG: kubeconfig },
    });
    if (result.code !== 0 && !options.allowFailure) {
      throw new Error(`kubectl ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
    }
    return { code: result.code, stdout: result.stdout, stderr: result.stderr };
  }

  /** `kubectl get <args> -o json`, parsed; undefined when the object does not exist. */
  public async getJson<T = any>(args: string[], options: KubectlOptions = {}): Promise<T | undefined> {
    const r = await this.kubectl(['get', ...args, '-o', 'json'], { ...options, allowFailure: true });
    if (r.code !== 0) {
      if (/NotFound|not found/.test(r.stderr)) {
        return undefined;
      }
      if (options.allowFailure) {
        return undefined;
      }
      throw new Error(`kubectl get ${args.join(' ')} failed: ${r.stderr.trim()}`);
    }
    return JSON.parse(r.stdout) as T;
  }

  /**
   * Polls `kubectl get <args> -o json` until `predicate` returns true for the
   * object (which may be undefined while it does not exist); returns it.
   */
  public async waitForObject<T = any>(
    args: string[],
    predicate: (obj: T | undefined) => boolean,
    options: { timeoutMs?: number; intervalMs?: number; kubeconfig?: string } = {},
  ): Promise<T | undefined> {
    let last: T | undefined;
    await waitFor(`kubectl get ${args.join(' ')} to match`, async () => {
      last = await this.getJson<T>(args, { kubeconfig: options.kubeconfig });
      return predicate(last);
    }, {
      timeoutMs: options.timeoutMs ?? 60_000,
      intervalMs: options.intervalMs ?? 250,
      onTimeout: () => `last seen: ${JSON.stringify(last, undefined, 1)?.slice(0, 4000)}`,
    });
    return last;
  }

  /** `kubectl apply -f -` for a YAML string or one or more objects. */
  public async applyYaml(
    docs: string | object | object[],
    options: KubectlOptions & { namespace?: string; serverSide?: boolean } = {},
  ): Promise<RunResult> {
    const input = toYaml(docs);
    const args = ['apply', '-f', '-'];
    if (options.serverSide) {
      args.push('--server-side', '--force-conflicts', '--field-manager=e2e');
    }
    if (options.namespace) {
      args.push('-n', options.namespace);
    }
    return this.kubectl(args, { ...options, input });
  }

  /** `kubectl delete -f - --ignore-not-found --wait=<wait>` for a YAML string or objects. */
  public async deleteYaml(docs: string | object | object[], options: KubectlOptions & { wait?: boolean } = {}): Promise<RunResult> {
    return this.kubectl(['delete', '-f', '-', '--ignore-not-found', `--wait=${options.wait ?? false}`], { ...options, input: toYaml(docs) });
  }

  /**
   * Creates a Node object standing in for a node: labels (kubernetes.io/hostname
   * = name by default), capacity/allocatable and a Ready condition, so the
   * scheduler places pods on it. No kubelet runs; pods bound to it stay Pending.
   */
  public async createNode(name: string, labels: Record<string, string> = {}, options: NodeOptions = {}): Promise<void> {
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name,
        labels: {
          'kubernetes.io/hostname': name,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/arch': 'amd64',
          ...labels,
        },
      },
      spec: options.taints ? { taints: options.taints } : {},
    };
    await this.kubectl(['create', '-f', '-'], { input: JSON.stringify(node) });
    await this.markNodeReady(name, options);
  }

  /** Sets a node's status: Ready, capacity/allocatable, addresses. */
  public async markNodeReady(name: string, options: NodeOptions = {}): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const resources = { 'cpu': options.cpu ?? '4', 'memory': options.memory ?? '8Gi', 'pods': options.pods ?? '110', 'ephemeral-storage': '100Gi' };
    const status = {
      status: {
        capacity: resources,
        allocatable: resources,
        conditions: [
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'e2e stand-in node', lastHeartbeatTime: now, lastTransitionTime: now },
          { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: '', lastHeartbeatTime: now, lastTransitionTime: now },
          { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: '', lastHeartbeatTime: now, lastTransitionTime: now },
          { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: '', lastHeartbeatTime: now, lastTransitionTime: now },
        ],
        addresses: [
          { type: 'InternalIP', address: '127.0.0.1' },
          { type: 'Hostname', address: name },
        ],
      },
    };
    await this.kubectl(['patch', 'node', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(status)]);
  }

  /**
   * Mints a token for ServiceAccount `namespace/serviceAccount` (`kubectl create
   * token`) and writes a kubeconfig that uses it, so RBAC applies to whoever
   * uses it. Returns the kubeconfig path.
   */
  public async serviceAccountKubeconfig(namespace: string, serviceAccount: string, options: { duration?: string } = {}): Promise<string> {
    const r = await this.kubectl(['create', 'token', serviceAccount, '-n', namespace, `--duration=${options.duration ?? '24h'}`]);
    const token = r.stdout.trim();
    const file = path.join(this.s.dir, 'kubeconfigs', `${namespace}.${serviceAccount}.kubeconfig`);
    writeKubeconfig(file, {
      server: this.s.server,
      ca: fs.readFileSync(this.s.caFile),
      user: { token },
      userName: `system:serviceaccount:${namespace}:${serviceAccount}`,
      namespace,
    });
    return file;
  }

  /**
   * Writes a kubeconfig for the kubelet of node `name`: a client certificate for
   * `system:node:<name>` in `system:nodes`, so the Node authorizer limits it to what
   * its own pods need (their secrets, config maps, ServiceAccount tokens). Returns its path.
   */
  public async nodeKubeconfig(name: string): Promise<string> {
    const dir = this.file('pki');
    const cert = await signCertificate(dir, pkiPaths(dir), `node-${name}`, `/O=system:nodes/CN=system:node:${name}`, CLIENT_CERT_EXTENSIONS);
    const file = path.join(this.s.dir, 'kubeconfigs', `node-${name}.kubeconfig`);
    writeKubeconfig(file, {
      server: this.s.server,
      ca: fs.readFileSync(this.s.caFile),
      user: {
        'client-certificate-data': fs.readFileSync(cert.cert).toString('base64'),
        'client-key-data': fs.readFileSync(cert.key).toString('base64'),
      },
      userName: `system:node:${name}`,
    });
    return file;
  }

  /**
   * Stops kube-apiserver and starts it again with the same flags and port;
   * waits until it is ready. kube-apiserver can take a minute to exit on
   * SIGTERM while clients hold watches, so it gets `graceMs` (default 3 s)
   * before SIGKILL; pass 0 to kill it outright (a crash).
   */
  public async restartApiServer(options: { graceMs?: number } = {}): Promise<void> {
    const record = this.s.processes['kube-apiserver'];
    if (record) {
      await stopProcess(record, options.graceMs ?? 3_000);
    }
    await this.startApiServer();
    this.persist();
  }

  /** Stops one component (e.g. to test behaviour while it is down): SIGTERM, SIGKILL after `graceMs` (default 3 s). */
  public async stopComponent(component: Component, options: { graceMs?: number } = {}): Promise<void> {
    const record = this.s.processes[component];
    if (record) {
      await stopProcess(record, options.graceMs ?? 3_000);
      this.s = { ...this.s, processes: { ...this.s.processes, [component]: undefined } };
      this.persist();
    }
  }

  /** Starts a component stopped with `stopComponent`. */
  public async startComponent(component: Component): Promise<void> {
    switch (component) {
      case 'etcd': await this.startEtcd(); break;
      case 'kube-apiserver': await this.startApiServer(); break;
      case 'kube-controller-manager': await this.startControllerManager(); break;
      case 'kube-scheduler': await this.startScheduler(); break;
    }
    this.persist();
  }

  /**
   * Starts a helper process for a test (e.g. the controller under test) in its
   * own process group, logging to `<logDir>/<name>.log`. It is recorded in the
   * state, so `stop()` (and the jest teardown) stop it even if the test does not.
   */
  public startProcess(options: { name: string; command: string; args: string[]; env?: NodeJS.ProcessEnv; cwd?: string }): ProcessRecord {
    const logFile = path.join(this.logDir, `${options.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.log`);
    fs.appendFileSync(logFile, `\n==== ${new Date().toISOString()} starting ${options.command} ${options.args.join(' ')}\n`);
    const record = startProcess({ ...options, logFile });
    this.s = { ...this.s, managed: [...(this.s.managed ?? []), record] };
    this.persist();
    return record;
  }

  /** Stops a process started with `startProcess` (SIGTERM, SIGKILL after `graceMs`, default 10 s). */
  public async stopProcess(record: ProcessRecord, options: { graceMs?: number } = {}): Promise<void> {
    await stopProcess(record, options.graceMs ?? 10_000);
    this.s = { ...this.s, managed: (this.s.managed ?? []).filter((r) => r.pid !== record.pid) };
    this.persist();
  }

  /** Names of components whose process is not running. */
  public deadComponents(): Component[] {
    return (Object.keys(this.s.processes) as Component[]).filter((c) => {
      const record = this.s.processes[c];
      return record !== undefined && !isRunning(record);
    });
  }

  /**
   * Stops every process (whole process groups) and removes the temp
   * directory. With `keepLogs` (default: KEEP_E2E_LOGS=1) the logs stay and
   * their directory is printed. Returns the kept log directory, if any.
   */
  public async stop(options: { keepLogs?: boolean; quiet?: boolean } = {}): Promise<string | undefined> {
    const keepLogs = options.keepLogs ?? process.env.KEEP_E2E_LOGS === '1';
    const order: Component[] = ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
    await Promise.all((this.s.managed ?? []).map((r) => stopProcess(r, 5_000)));
    // Clients first: kube-apiserver exits promptly only once nobody holds a watch.
    for (const component of order) {
      const record = this.s.processes[component];
      if (record) {
        await stopProcess(record, 5_000);
      }
    }
    await sweepProcesses(this.s.dir);
    return removeStateDir(this.s.dir, { keepLogs, quiet: options.quiet, what: 'control-plane' });
  }

  private persist(): void {
    if (this.s.stateFile) {
      const tmp = `${this.s.stateFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(this.s, undefined, 2));
      fs.renameSync(tmp, this.s.stateFile);
    }
  }

  private file(...parts: string[]): string {
    return path.join(this.s.dir, ...parts);
  }

  private log(component: Component): string {
    return this.file('logs', `${component}.log`);
  }

  /**
   * Starts a component, retrying with fresh ports when the process dies before
   * it is ready (a port taken between choosing and binding it).
   */
  private async startWithRetry(
    component: Component,
    build: (attempt: number) => Promise<{ args: string[]; ready: () => Promise<boolean> }>,
  ): Promise<void> {
    let lastError: Error | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const { args, ready } = await build(attempt);
      fs.appendFileSync(this.log(component), `\n==== ${new Date().toISOString()} starting ${component} ${args.join(' ')}\n`);
      const record = startProcess({
        name: component,
        command: path.join(this.s.binDir, component),
        args,
        logFile: this.log(component),
        cwd: this.s.dir,
      });
      this.s = { ...this.s, processes: { ...this.s.processes, [component]: record } };
      try {
        await waitFor(`${component} to become ready`, async () => {
          if (!isRunning(record)) {
            throw new ExitedError(`${component} exited during startup`);
          }
          return ready();
        }, { timeoutMs: this.s.readyTimeoutMs, intervalMs: 100 });
        return;
      } catch (err) {
        lastError = err as Error;
        await stopProcess(record);
        if (!(err instanceof ExitedError)) {
          break;
        }
      }
    }
    throw new Error(`${lastError?.message}\n--- ${this.log(component)} (tail) ---\n${tail(this.log(component), 40)}`);
  }

  private async startEtcd(): Promise<void> {
    await this.startWithRetry('etcd', async (attempt) => {
      let port = this.s.ports.etcd;
      if (port === 0 || attempt > 0) {
        port = await freePort();
      }
      const peerPort = await freePort();
      this.s = { ...this.s, ports: { ...this.s.ports, etcd: port } };
      const client = `http://127.0.0.1:${port}`;
      const peer = `http://127.0.0.1:${peerPort}`;
      return {
        args: [
          '--name=e2e',
          `--data-dir=${this.file('etcd')}`,
          `--listen-client-urls=${client}`,
          `--advertise-client-urls=${client}`,
          `--listen-peer-urls=${peer}`,
          `--initial-advertise-peer-urls=${peer}`,
          `--initial-cluster=e2e=${peer}`,
          '--unsafe-no-fsync=true',
          '--log-level=warn',
        ],
        ready: async () => {
          const r = await httpGet(`${client}/readyz`);
          return r.status === 200;
        },
      };
    });
  }

  private async startApiServer(): Promise<void> {
    const pki = pkiPaths(this.file('pki'));
    const tls = { ca: fs.readFileSync(pki.caCert), cert: fs.readFileSync(pki.adminCert), key: fs.readFileSync(pki.adminKey) };
    // The port is part of the kubeconfigs already written, so it never changes.
    const port = this.s.ports['kube-apiserver'];
    await this.startWithRetry('kube-apiserver', async () => ({
      args: [
        `--etcd-servers=http://127.0.0.1:${this.s.ports.etcd}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${port}`,
        `--cert-dir=${this.file('pki', 'apiserver-generated')}`,
        `--tls-cert-file=${pki.servingCert}`,
        `--tls-private-key-file=${pki.servingKey}`,
        `--client-ca-file=${pki.caCert}`,
        '--authorization-mode=Node,RBAC',
        `--service-account-issuer=${SA_ISSUER}`,
        `--service-account-key-file=${pki.saPub}`,
        `--service-account-signing-key-file=${pki.saKey}`,
        `--service-cluster-ip-range=${this.options.serviceClusterIpRange ?? '10.0.0.0/24'}`,
        // Storage admission stays on (explicitly, whatever the defaults become).
        '--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,DefaultStorageClass,PersistentVolumeClaimResize,StorageObjectInUseProtection,ResourceQuota',
        // Without a node lifecycle controller nothing would remove the not-ready taint it adds.
        '--disable-admission-plugins=TaintNodesByCondition',
        '--allow-privileged=true',
        '--endpoint-reconciler-type=none',
        '--profiling=false',
        ...(this.options.extraApiServerArgs ?? []),
      ],
      ready: async () => {
        const r = await httpGet(`https://127.0.0.1:${port}/readyz`, tls);
        return r.status === 200;
      },
    }));
  }

  private async startControllerManager(): Promise<void> {
    const pki = pkiPaths(this.file('pki'));
    await this.startWithRetry('kube-controller-manager', async () => {
      const port = await freePort();
      this.s = { ...this.s, ports: { ...this.s.ports, 'kube-controller-manager': port } };
      return {
        args: [
          `--kubeconfig=${this.s.kubeconfig}`,
          `--authentication-kubeconfig=${this.s.kubeconfig}`,
          `--authorization-kubeconfig=${this.s.kubeconfig}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${port}`,
          `--cert-dir=${this.file('kube-controller-manager')}`,
          '--leader-elect=false',
          '--use-service-account-credentials=true',
          `--service-account-private-key-file=${pki.saKey}`,
          `--root-ca-file=${pki.caCert}`,
          `--controllers=${CONTROLLERS.join(',')}`,
          '--pvclaimbinder-sync-period=2s',
          '--v=2',
          ...(this.options.extraControllerManagerArgs ?? []),
        ],
        ready: async () => (await httpGet(`https://127.0.0.1:${port}/healthz`)).status === 200,
      };
    });
  }

  private async startScheduler(): Promise<void> {
    await this.startWithRetry('kube-scheduler', async () => {
      const port = await freePort();
      this.s = { ...this.s, ports: { ...this.s.ports, 'kube-scheduler': port } };
      return {
        args: [
          `--kubeconfig=${this.s.kubeconfig}`,
          `--authentication-kubeconfig=${this.s.kubeconfig}`,
          `--authorization-kubeconfig=${this.s.kubeconfig}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${port}`,
          `--cert-dir=${this.file('kube-scheduler')}`,
          '--leader-elect=false',
          '--v=2',
          ...(this.options.extraSchedulerArgs ?? []),
        ],
        ready: async () => (await httpGet(`https://127.0.0.1:${port}/readyz`)).status === 200,
      };
    });
  }
}

class ExitedError extends StopWaiting {}

/** YAML stream from a string (as is) or objects. */
export function toYaml(docs: string | object | object[]): string {
  if (typeof docs === 'string') {
    return docs;
  }
  const list = Array.isArray(docs) ? docs : [docs];
  return list.filter((d) => d !== null && d !== undefined).map((d) => yaml.dump(d, { noRefs: true, lineWidth: -1 })).join('---\n');
}

interface PkiPaths {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
}

function pkiPaths(dir: string): PkiPaths {
  return {
    caCert: path.join(dir, 'ca.crt'),
    caKey: path.join(dir, 'ca.key'),
    servingCert: path.join(dir, 'apiserver.crt'),
    servingKey: path.join(dir, 'apiserver.key'),
    adminCert: path.join(dir, 'admin.crt'),
    adminKey: path.join(dir, 'admin.key'),
    saKey: path.join(dir, 'sa.key'),
    saPub: path.join(dir, 'sa.pub'),
  };
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const r = await run('openssl', args, { env: { ...process.env, OPENSSL_CONF: '/dev/null', RANDFILE: path.join(cwd, '.rnd') } });
  if (r.code !== 0) {
    throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

const CLIENT_CERT_EXTENSIONS = [
  'basicConstraints=CA:FALSE',
  'keyUsage=critical,digitalSignature,keyEncipherment',
  'extendedKeyUsage=clientAuth',
  '',
].join('\n');

/** A key and a certificate for `subj` signed by the throwaway CA: `<dir>/<name>.key`, `<dir>/<name>.crt`. */
async function signCertificate(dir: string, p: PkiPaths, name: string, subj: string, ext: string): Promise<{ cert: string; key: string }> {
  const csr = path.join(dir, `${name}.csr`);
  const extFile = path.join(dir, `${name}.ext`);
  const key = path.join(dir, `${name}.key`);
  const cert = path.join(dir, `${name}.crt`);
  fs.writeFileSync(extFile, ext);
  await openssl(['req', '-new', ...EC_KEY, '-keyout', key, '-out', csr, '-subj', subj], dir);
  await openssl(['x509', '-req', '-in', csr, '-CA', p.caCert, '-CAkey', p.caKey, '-CAcreateserial', '-out', cert,
    '-days', '3650', '-extfile', extFile], dir);
  return { cert, key };
}

/** A throwaway CA, the apiserver serving certificate, an admin client certificate and the ServiceAccount signing key. */
async function makePki(dir: string): Promise<PkiPaths> {
  const p = pkiPaths(dir);
  await openssl(['req', '-x509', ...EC_KEY, '-keyout', p.caKey, '-out', p.caCert, '-days', '3650', '-subj', '/CN=cdk8s-storage-e2e-ca',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'], dir);
  const sign = (name: string, subj: string, ext: string) => signCertificate(dir, p, name, subj, ext);
  await sign('apiserver', '/CN=kube-apiserver', [
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
    '',
  ].join('\n'));
  await sign('admin', '/O=system:masters/CN=e2e-admin', CLIENT_CERT_EXTENSIONS);
  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', p.saKey], dir);
  await openssl(['pkey', '-in', p.saKey, '-pubout', '-out', p.saPub], dir);
  return p;
}

function writeKubeconfig(
  file: string,
  o: { server: string; ca: Buffer; user: Record<string, string>; userName: string; namespace?: string },
): void {
  const config = {
    'apiVersion': 'v1',
    'kind': 'Config',
    'clusters': [{ name: 'e2e', cluster: { 'server': o.server, 'certificate-authority-data': o.ca.toString('base64') } }],
    'users': [{ name: o.userName, user: o.user }],
    'contexts': [{ name: 'e2e', context: { cluster: 'e2e', user: o.userName, ...(o.namespace ? { namespace: o.namespace } : {}) } }],
    'current-context': 'e2e',
  };
  fs.writeFileSync(file, yaml.dump(config, { lineWidth: -1 }), { mode: 0o600 });
}

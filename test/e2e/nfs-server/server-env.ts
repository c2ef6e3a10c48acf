/**
 * The in-cluster server's pod, on the harness's real control plane, for the e2e files of
 * test/e2e/nfs-server: the bundled `nfs-server` command runs as its pod would (the pod's
 * network namespace from ServerLab, a private mount namespace per run, ganesha, its bus, loop
 * images), with leader election, against the harness's API server.
 *
 * The network namespace reaches the API server through a relay over a unix socket (loopback
 * on both sides: no other address is used), and the Service's cluster IP, made by the API
 * server, is an address inside it (kube-proxy's job in a cluster), so an NFS client there
 * mounts exactly what a PV names.
 *
 * Each test file makes its own ServerEnv with a name of its own: the namespace, provisioner
 * name and StorageClass names derive from it, and the lab (network namespace, data dir) is
 * the file's alone, so files never see each other's volumes.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import { buildSync } from 'esbuild';
import { NFS_SERVER_FLAGS } from '../../../src/contract/controller-config';
import { K8S } from '../../../src/contract/keys';
import { runCommand } from '../../../src/runtime/core/command';
import { ExportControl } from '../../../src/runtime/nfs-server/export-control';
import { ServerLayout } from '../../../src/runtime/nfs-server/layout';
import { pidsInMountNamespace, ServerLab, untilOk } from '../../runtime/nfs-server/server-lab';
import { connect } from '../harness';
import { ensureControllerBundle, eventually, Kube, paths, WAIT_MS } from '../support';

/** The line the command logs once it leads and its informers have synced: it provisions from then on. */
const WORKING = 'caches synced; working';

export interface ServerEnvOptions {
  /**
   * Unique per test file (a DNS label): the namespace, the provisioner name
   * (`example.com/<name>`) and the prefix of every StorageClass name.
   */
  readonly name: string;
}

export interface CommandOptions {
  /** More `nfs-server` flags (`--flag=value`), after the ones the env always sets. @default [] */
  readonly flags?: string[];
  /** More environment for the command. @default {} */
  readonly env?: Record<string, string>;
  /** Wait until the command leads and has synced its caches (else only until it runs in its own mount namespace). @default true */
  readonly waitWorking?: boolean;
  /** Run with only these capabilities (names as in a pod's securityContext, e.g. `CHOWN`) and no new privileges. @default every capability of the test process */
  readonly capabilities?: readonly string[];
}

/** What is on the server's backing storage and in its pod, for invariant checks. */
export interface ServerState {
  /** PV names with an image under volumes/. */
  readonly images: string[];
  /** Entries of archived/ (ARCHIVE's `<pv>-<time>.img`, RETAIN's `<pv>-retained-<time>/`). */
  readonly archived: string[];
  /** PV names with an export file under exports.d/. */
  readonly exportFiles: string[];
  /** PV names with a journal note (a change in progress). */
  readonly notes: string[];
  /** PV names mounted in the running command's mount namespace (none while it is down). */
  readonly mounts: string[];
  /** Loop devices on the host backed by a file of this server's data dir (`/dev/loopN: ... (<file>)`). */
  readonly loopDevices: string[];
  /** Export ids the running ganesha serves, its pseudo root (0) left out (none while it is down). */
  readonly ganeshaExports: number[];
}

export { untilOk };

/** Milliseconds on a monotonic clock, for printed figures. */
export const nowMs = (): number => Number(process.hrtime.bigint() / 1_000_000n);

export class ServerEnv {
  public readonly lab = new ServerLab();
  public readonly layout = new ServerLayout(this.lab.dataDir);
  public readonly kube: Kube;
  public readonly namespace: string;
  public readonly provisioner: string;
  public readonly service = 'nfs-server';
  /** The Service's cluster IP (set by {@link setUp}): every PV's `nfs.server`. */
  public clusterIP = '';
  private readonly apiPort: number;
  private readonly kubeconfig: string;
  private readonly classes: string[] = [];
  private hostRelay?: net.Server;
  private netRelay?: ChildProcess;
  private command?: ChildProcess;
  private exited?: Promise<unknown>;
  /** The current run's mount namespace (a /proc/<pid>/ns/mnt link text), known before the command may die. */
  private mountNs?: string;
  private runs = 0;
  /** The NFS NULL prober's script, built once. */
  private nullProbe?: string;

  constructor(private readonly options: ServerEnvOptions) {
    const { controlPlane: cp } = connect();
    this.kube = Kube.fromKubeconfig(cp.kubeconfig);
    this.kubeconfig = cp.kubeconfig;
    this.apiPort = Number(new URL(cp.server).port);
    this.namespace = options.name;
    this.provisioner = `example.com/${options.name}`;
  }

  /** The lab, the relays to the API server, the namespace and the Service with its cluster IP inside the network namespace. */
  async setUp(): Promise<void> {
    this.lab.start();
    const socket = path.join(this.lab.root, 'api.sock');
    // Host side: the unix socket leads to the API server on the host's loopback.
    this.hostRelay = net.createServer((c) => pipeBothWays(c, net.connect(this.apiPort, '127.0.0.1')));
    await new Promise<void>((resolve) => this.hostRelay!.listen(socket, resolve));
    // Namespace side: the API server's loopback address and port lead to the unix socket, so the admin kubeconfig works as it is.
    this.netRelay = spawn('nsenter', [`--net=${this.lab.netNs}`, '--', process.execPath, '-e', `
      const net = require('net');
      net.createServer((c) => {
        const u = net.connect(${JSON.stringify(socket)});
        for (const [a, b] of [[c, u], [u, c]]) { a.pipe(b); a.on('error', () => b.destroy()); }
      }).listen(${this.apiPort}, '127.0.0.1');`], { stdio: 'ignore' });

    await this.kube.ensure(paths.namespace(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.namespace } });
    const service = await this.kube.ensure(`/api/v1/namespaces/${this.namespace}/services`, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: this.service },
      spec: { type: 'ClusterIP', ports: [{ name: 'nfs', port: 2049, protocol: 'TCP' }], selector: { app: this.service } },
    }) ?? await this.kube.get(`/api/v1/namespaces/${this.namespace}/services/${this.service}`);
    this.clusterIP = (service as any).spec.clusterIP;
    // The Service's address is the server's, inside its network namespace (kube-proxy's job in a cluster).
    this.lab.inNet('ip', ['addr', 'add', `${this.clusterIP}/32`, 'dev', 'lo']);
  }

  /**
   * A StorageClass of this server named `<name>-<suffix>` (Immediate binding, expansion
   * allowed, reclaim policy Delete); `parameters` are the class's (e.g. `{ onDelete: 'RETAIN' }`).
   */
  async addClass(suffix: string, parameters: Record<string, string>): Promise<string> {
    const name = `${this.options.name}-${suffix}`;
    await this.kube.ensure(paths.storageClass(), {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name },
      provisioner: this.provisioner,
      reclaimPolicy: 'Delete',
      allowVolumeExpansion: true,
      volumeBindingMode: 'Immediate',
      parameters,
    });
    this.classes.push(name);
    return name;
  }

  /**
   * Starts the command on the env's data dir (the same one every run: a restart finds its
   * volumes). The run leads under the pod name every run shares (POD_NAME), so after
   * {@link killAll} it takes the killed run's Lease over at once, as a restarted container
   * does; ganesha serves before that: pass `waitWorking: false` and use
   * {@link waitForNfsNull} to wait for serving alone.
   */
  async start(options: CommandOptions = {}): Promise<void> {
    if (this.running) throw new Error('the nfs-server command is running already: stop or kill it first');
    const bundle = ensureControllerBundle();
    this.runs++;
    const out = fs.openSync(this.logFile, 'a');
    const limit = options.capabilities
      ? ['setpriv', `--bounding-set=-all${options.capabilities.map((c) => `,+${c.toLowerCase()}`).join('')}`, '--inh-caps=-all', '--no-new-privs', '--']
      : [];
    const command = spawn('nsenter', [`--net=${this.lab.netNs}`, '--', 'unshare', '--mount', '--propagation', 'private', '--', ...limit, process.execPath, bundle, 'nfs-server',
      `--${NFS_SERVER_FLAGS.provisionerName}=${this.provisioner}`,
      `--${NFS_SERVER_FLAGS.serviceName}=${this.service}`,
      `--${NFS_SERVER_FLAGS.dataDir}=${this.lab.dataDir}`,
      `--${NFS_SERVER_FLAGS.ganeshaConfigDir}=${this.lab.configDir}`,
      `--${NFS_SERVER_FLAGS.httpPort}=8080`,
      `--${NFS_SERVER_FLAGS.usageInterval}=1`,
      `--kubeconfig=${this.kubeconfig}`,
      ...options.flags ?? []], { stdio: ['ignore', out, out], env: { ...process.env, POD_NAMESPACE: this.namespace, POD_NAME: `${this.service}-0`, ...options.env } });
    fs.closeSync(out);
    this.command = command;
    this.exited = new Promise((resolve) => command.once('exit', resolve));
    // nsenter and unshare exec into node: the pid is the command's once its mount namespace is not ours.
    const own = fs.readlinkSync('/proc/self/ns/mnt');
    this.mountNs = undefined;
    while (command.exitCode === null && command.signalCode === null && this.mountNs === undefined) {
      try {
        const ns = fs.readlinkSync(`/proc/${command.pid}/ns/mnt`);
        if (ns !== own) this.mountNs = ns;
      } catch { /* exited meanwhile: the loop ends on its exit code */ }
      if (this.mountNs === undefined) await new Promise((r) => setTimeout(r, 10));
    }
    if (options.waitWorking ?? true) await this.waitWorking();
  }

  /** Resolves once the current run leads and has synced its caches. */
  async waitWorking(): Promise<void> {
    // A check that throws counts as "not yet": an exit is returned, so it fails at once instead of at the timeout.
    const outcome = await eventually('the nfs-server command leads and has synced its caches',
      async () => (!this.running ? 'exited' : this.log(Infinity).includes(WORKING) && 'working'), { describe: () => this.log() });
    if (outcome === 'exited') throw new Error(`the nfs-server command exited\n${this.log()}`);
  }

  /**
   * Resolves once ganesha answers an NFS NULL call at `host`:2049 in the pod's network
   * namespace (the Service's cluster IP by default), as a client there would reach it. The
   * call is the command's own (src/runtime/nfs-server/nfs-null.ts), repeated every 20 ms.
   */
  async waitForNfsNull(host = this.clusterIP, timeoutMs = WAIT_MS): Promise<void> {
    this.nullProbe ??= buildSync({
      stdin: {
        contents: `import { nfsNull } from './nfs-null';
          (async () => {
            while (!(await nfsNull(process.argv[1], 2049, 500))) await new Promise((r) => setTimeout(r, 20));
          })();`,
        resolveDir: path.join(__dirname, '..', '..', '..', 'src', 'runtime', 'nfs-server'),
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      target: 'node20',
      write: false,
      logLevel: 'error',
    }).outputFiles[0].text;
    const probe = spawn('nsenter', [`--net=${this.lab.netNs}`, '--', process.execPath, '-e', this.nullProbe, host], { stdio: 'ignore' });
    const timer = setTimeout(() => probe.kill('SIGKILL'), timeoutMs);
    const code = await new Promise((resolve) => probe.once('exit', resolve));
    clearTimeout(timer);
    if (code !== 0) throw new Error(`no NFS NULL answer from ${host}:2049 within ${timeoutMs} ms\n${this.log()}`);
  }

  /** True while the command of the current run has not exited. */
  get running(): boolean {
    return !!this.command && this.command.exitCode === null && this.command.signalCode === null;
  }

  /** The command's pid (node itself, in its own mount namespace). */
  get pid(): number {
    if (!this.running) throw new Error('the nfs-server command is not running');
    return this.command!.pid!;
  }

  /** SIGTERM (what the kubelet sends), then whatever is left in the mount namespace goes too. */
  async stop(): Promise<void> {
    if (this.running) {
      this.command!.kill('SIGTERM');
      await this.exited;
    }
    await this.killAll();
  }

  /** kill -9 of every process of the run (the command, ganesha, the bus); resolves once its mount namespace is empty and the command has exited. */
  async killAll(): Promise<void> {
    if (this.running) this.command!.kill('SIGKILL');
    const ns = this.mountNs;
    for (let pids = ns ? pidsInMountNamespace(ns) : []; pids.length > 0; pids = pidsInMountNamespace(ns!)) {
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch { /* gone meanwhile */ }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await this.exited;
  }

  /** Runs a program in the current run's mount namespace (where the volumes are mounted). */
  inMount(cmd: string, args: string[]): string {
    return execFileSync('nsenter', [`--mount=/proc/${this.pid}/ns/mnt`, '--', cmd, ...args], { encoding: 'utf8' });
  }

  /** The last `lines` lines of the current run's log. */
  log(lines = 30): string {
    if (!fs.existsSync(this.logFile)) return '';
    const all = fs.readFileSync(this.logFile, 'utf8').split('\n');
    return (lines === Infinity ? all : all.slice(-lines)).join('\n');
  }

  /**
   * Wall-clock times (epoch ms) of the current run's first JSON log line (key `first`) and of
   * the first line with each message in `messages` (e.g. `serving`, `became leader`), for
   * printed breakdowns of a start.
   */
  logTimes(messages: string[]): Record<string, number | undefined> {
    const times: Record<string, number | undefined> = {};
    for (const line of this.log(Infinity).split('\n')) {
      let entry: { time?: string; msg?: string };
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      const at = entry.time ? Date.parse(entry.time) : undefined;
      times.first ??= at;
      if (entry.msg && messages.includes(entry.msg)) times[entry.msg] ??= at;
    }
    return times;
  }

  /** What is on the backing storage, mounted, attached and exported now. */
  async state(): Promise<ServerState> {
    const names = (dir: string, suffix = '') => (fs.existsSync(dir) ? fs.readdirSync(dir) : [])
      .filter((n) => n.endsWith(suffix)).map((n) => n.slice(0, n.length - suffix.length)).sort();
    const mounts = this.running
      ? this.inMount('cat', ['/proc/self/mountinfo']).split('\n').map((line) => line.split(' ')[4])
        .filter((m) => m?.startsWith(`${this.layout.mountsDir}/`)).map((m) => path.basename(m)).sort()
      : [];
    const loopDevices = execFileSync('losetup', ['-a'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`${this.lab.dataDir}/`));
    const ganeshaExports = this.running
      ? (await new ExportControl(`unix:path=${path.join(this.lab.configDir, 'bus')}`, runCommand).list()).filter((id) => id !== 0).sort((a, b) => a - b)
      : [];
    return {
      images: names(this.layout.volumesDir).filter((pv) => fs.existsSync(this.layout.image(pv))),
      archived: names(this.layout.archivedDir),
      exportFiles: names(this.layout.exportsDir, '.conf'),
      notes: names(this.layout.journalDir, '.json'),
      mounts,
      loopDevices,
      ganeshaExports,
    };
  }

  /** Deletes the classes, the namespace and the PVs this provisioner made; stops the command, the relays and the lab. */
  async tearDown(): Promise<void> {
    for (const name of this.classes) await this.kube.delete(paths.storageClass(name)).catch(() => undefined);
    await this.kube.delete(paths.namespace(this.namespace)).catch(() => undefined);
    // Released PVs of a server that is gone would stay forever: no other file's provisioner owns them.
    const pvs = await this.kube.list(paths.pv()).catch(() => []);
    for (const pv of pvs.filter((v) => v.metadata?.annotations?.[K8S.provisionedBy] === this.provisioner)) {
      await this.kube.delete(paths.pv(pv.metadata.name)).catch(() => undefined);
    }
    await this.stop();
    this.netRelay?.kill('SIGKILL');
    this.hostRelay?.close();
    await this.lab.cleanup();
  }

  private get logFile(): string {
    return path.join(this.lab.root, `command-${this.runs}.log`);
  }
}

function pipeBothWays(a: net.Socket, b: net.Socket): void {
  for (const [from, to] of [[a, b], [b, a]]) {
    from.pipe(to);
    from.on('error', () => to.destroy());
  }
}

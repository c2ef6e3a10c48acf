/**
 * A real node for the e2e control plane: containerd (its own root, state and
 * socket) and kubelet, named `localhost`, running pods from images loaded
 * locally (no registry).
 *
 * Network safety: no packet may leave this machine. Pods get only their loopback
 * interface (node/cni-report.sh configures nothing), so a pod can reach no
 * address at all outside itself. A pod that has to talk to the API server runs in
 * the host network with KUBERNETES_SERVICE_HOST=127.0.0.1 and
 * KUBERNETES_SERVICE_PORT=<API port> (`onTestNode`), so its in-cluster config
 * dials loopback, never the service range (routed off this machine).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { freePort, isRunning, ProcessRecord, removeStateDir, run, startProcess, stopProcess, sweepProcesses, waitFor } from './proc';

/** The node's name (the API server reaches its kubelet through this Hostname address). */
export const TEST_NODE_NAME = 'localhost';

/** Taint on the real node: only pods that tolerate it (`onTestNode`) run there, never the stand-in nodes' workloads. */
export const TEST_NODE_TAINT = { key: 'cdk8s-storage.e2e/real-node', value: 'true', effect: 'NoSchedule' };

/** The sandbox image containerd's CRI uses (built by node/images.sh). */
const PAUSE_IMAGE = 'localhost/cdk8s-storage-e2e/pause:1';

/** Where containerd 1.6 puts shim sockets whatever its state directory is. */
const SHIM_SOCKET_DIR = '/run/containerd/s';

/** kubelet writes a symlink per container here whatever its podLogsDir is. */
const CONTAINER_LOG_LINKS = '/var/log/containers';

export interface TestNodeState {
  readonly kind: 'cdk8s-storage-e2e-node';
  readonly name: string;
  readonly dir: string;
  readonly socket: string;
  readonly kubeletPort: number;
  readonly controllerImage: string;
  /** Seconds to start containerd and load the images. */
  readonly runtimeSeconds?: number;
  /** Seconds from starting kubelet to the node being Ready. */
  readonly startSeconds?: number;
  readonly processes: { containerd?: ProcessRecord; kubelet?: ProcessRecord };
}

export interface RuntimeOptions {
  /** The node's name (default TEST_NODE_NAME; another name has no address the API server can reach for logs/exec). */
  readonly name?: string;
  /** Archives to load: the sandbox image and the controller image (`node/images.sh`). */
  readonly pauseArchive: string;
  readonly controllerArchive: string;
}

export interface KubeletOptions {
  /** Directory holding the kubelet binary (`binaries.sh kubelet`). */
  readonly kubeletBinDir: string;
  /** The kubelet's credentials: `system:node:<name>` (ControlPlane.nodeKubeconfig). */
  readonly kubeletKubeconfig: string;
  /** Admin kubeconfig of the control plane (to watch the node become Ready). */
  readonly kubeconfig: string;
  readonly kubectlPath: string;
  readonly readyTimeoutMs?: number;
}

/**
 * Started in two steps, so that the slow part (containerd loading the images) runs
 * while the control plane starts: `startRuntime`, then `joinCluster`.
 */
export class TestNode {
  /** Starts containerd and loads the images. */
  public static async startRuntime(options: RuntimeOptions): Promise<TestNode> {
    const started = Date.now();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-storage-e2e-node-'));
    for (const sub of ['logs', 'containerd', 'state', 'opt', 'cni/bin', 'cni/conf', 'kubelet', 'pod-logs']) {
      fs.mkdirSync(path.join(dir, sub), { recursive: true });
    }
    const node = new TestNode({
      kind: 'cdk8s-storage-e2e-node',
      name: options.name ?? TEST_NODE_NAME,
      dir,
      socket: path.join(dir, 'containerd.sock'),
      kubeletPort: await freePort(),
      controllerImage: await archiveImageName(options.controllerArchive),
      processes: {},
    });
    try {
      await node.startContainerd();
      await node.importImages([options.pauseArchive, options.controllerArchive]);
    } catch (err) {
      await node.stop({ keepLogs: true });
      throw err;
    }
    node.s = { ...node.s, runtimeSeconds: (Date.now() - started) / 1000 };
    return node;
  }

  public static attach(state: TestNodeState): TestNode {
    return new TestNode(state);
  }

  private s: TestNodeState;

  private constructor(state: TestNodeState) {
    this.s = state;
  }

  public state(): TestNodeState {
    return this.s;
  }

  public get name(): string { return this.s.name; }
  public get runtimeSeconds(): number | undefined { return this.s.runtimeSeconds; }
  public get startSeconds(): number | undefined { return this.s.startSeconds; }
  public get dir(): string { return this.s.dir; }
  public get logDir(): string { return path.join(this.s.dir, 'logs'); }
  /** The controller image as containerd knows it (pods use it with imagePullPolicy Never). */
  public get controllerImage(): string { return this.s.controllerImage; }

  /** Names of the node's processes that are not running. */
  public deadComponents(): string[] {
    return Object.entries(this.s.processes).filter(([, r]) => r !== undefined && !isRunning(r)).map(([n]) => n);
  }

  /**
   * Stops everything the node started and removes its directory: kubelet, every
   * container (runc), containerd and its shims (and their sockets), every mount
   * under the node's directory (kubelet's root bind mount, volumes, snapshots,
   * network namespaces) and kubelet's /var/log/containers symlinks.
   */
  public async stop(options: { keepLogs?: boolean; quiet?: boolean } = {}): Promise<string | undefined> {
    const keepLogs = options.keepLogs ?? process.env.KEEP_E2E_LOGS === '1';
    if (this.s.processes.kubelet) {
      await stopProcess(this.s.processes.kubelet, 10_000);
    }
    await this.deleteContainers();
    const shimSockets = this.shimSockets();
    if (this.s.processes.containerd) {
      await stopProcess(this.s.processes.containerd, 10_000);
    }
    await sweepProcesses(this.s.dir);
    for (const socket of shimSockets) {
      fs.rmSync(socket, { force: true });
    }
    await unmountUnder(this.s.dir);
    removeContainerLogLinks(path.join(this.s.dir, 'pod-logs'));
    return removeStateDir(this.s.dir, { keepLogs, quiet: options.quiet, what: 'node' });
  }

  private file(...parts: string[]): string {
    return path.join(this.s.dir, ...parts);
  }

  private runcRoot(): string {
    return this.file('state', 'runc');
  }

  private async startContainerd(): Promise<void> {
    const config = this.file('containerd.toml');
    fs.writeFileSync(config, containerdConfig(this.s.dir, this.s.socket, this.runcRoot()));
    const cniBin = this.file('cni', 'bin');
    for (const name of ['loopback', 'e2e-report']) {
      fs.copyFileSync(path.join(__dirname, 'node', 'cni-report.sh'), path.join(cniBin, name));
      fs.chmodSync(path.join(cniBin, name), 0o755);
    }
    fs.writeFileSync(this.file('cni', 'conf', '10-e2e.conflist'), JSON.stringify({
      cniVersion: '1.0.0',
      name: 'e2e',
      plugins: [{ type: 'e2e-report' }],
    }));
    const record = startProcess({
      name: 'containerd',
      command: 'containerd',
      args: ['--config', config],
      logFile: this.file('logs', 'containerd.log'),
    });
    this.s = { ...this.s, processes: { ...this.s.processes, containerd: record } };
    await waitFor('containerd', async () => isRunning(record) && (await this.ctr(['version'])).code === 0, { timeoutMs: 30_000 });
  }

  /**
   * Loads one more image archive into the running node's containerd (an image only some
   * test files need, e.g. the NFS server's from `node/images.sh --server`); returns the
   * image as pods name it. Importing an image containerd already has is quick and harmless.
   */
  public async importImage(archive: string): Promise<string> {
    await this.importImages([archive]);
    return archiveImageName(archive);
  }

  private async importImages(archives: string[]): Promise<void> {
    for (const archive of archives) {
      const r = await this.ctr(['images', 'import', archive], 300_000);
      if (r.code !== 0) {
        throw new Error(`ctr images import ${archive} failed: ${r.stderr}`);
      }
    }
  }

  /** Starts kubelet against the control plane and waits until the node is Ready. */
  public async joinCluster(options: KubeletOptions): Promise<void> {
    const started = Date.now();
    const config = this.file('kubelet.yaml');
    fs.writeFileSync(config, yaml.dump(kubeletConfig(this.s, this.file('pod-logs'))));
    const record = startProcess({
      name: 'kubelet',
      command: path.join(options.kubeletBinDir, 'kubelet'),
      args: [
        `--config=${config}`,
        `--kubeconfig=${options.kubeletKubeconfig}`,
        `--root-dir=${this.file('kubelet')}`,
        `--cert-dir=${this.file('kubelet', 'pki')}`,
        `--hostname-override=${this.s.name}`,
        '--v=1',
      ],
      logFile: this.file('logs', 'kubelet.log'),
    });
    this.s = { ...this.s, processes: { ...this.s.processes, kubelet: record } };
    await waitFor(`node ${this.s.name} Ready`, async () => {
      if (!isRunning(record)) {
        throw new Error(`kubelet exited; see ${record.logFile}`);
      }
      const r = await run(options.kubectlPath, ['--kubeconfig', options.kubeconfig, 'get', 'node', this.s.name,
        '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
      return r.code === 0 && r.stdout.trim() === 'True';
    }, { timeoutMs: options.readyTimeoutMs ?? 60_000, onTimeout: () => `see ${record.logFile}` });
    this.s = { ...this.s, startSeconds: (Date.now() - started) / 1000 };
  }

  private ctr(args: string[], timeoutMs = 30_000) {
    return run('ctr', ['--address', this.s.socket, '--namespace', 'k8s.io', ...args], { timeoutMs });
  }

  /**
   * The host PID of a running container's first process (PID 1 inside it), from the
   * `containerID` of a pod's container status (`containerd://<id>`): what a test kills
   * to crash a container the way an OOM kill or a segfault would.
   */
  public async containerPid(containerID: string): Promise<number> {
    const id = containerID.replace(/^containerd:\/\//, '');
    const r = await run('runc', ['--root', path.join(this.runcRoot(), 'k8s.io'), 'state', id]);
    const pid = r.code === 0 ? Number(JSON.parse(r.stdout).pid) : 0;
    if (!(pid > 0)) {
      throw new Error(`no running container ${id} on node ${this.s.name}: ${r.stderr.trim() || r.stdout.trim()}`);
    }
    return pid;
  }

  /** Kills and deletes every container runc knows under the node's runc root (sandboxes included). */
  private async deleteContainers(): Promise<void> {
    if (!fs.existsSync(this.runcRoot())) {
      return;
    }
    for (const namespace of fs.readdirSync(this.runcRoot())) {
      const root = path.join(this.runcRoot(), namespace);
      const list = await run('runc', ['--root', root, 'list', '-q']);
      for (const id of list.stdout.split('\n').filter((l) => l.trim() !== '')) {
        await run('runc', ['--root', root, 'delete', '--force', id.trim()]);
      }
    }
  }

  /** The sockets of the running shims that serve this node's containerd (outside its directory: containerd 1.6 cannot move them). */
  public shimSockets(): string[] {
    const ids: string[] = [];
    for (const entry of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) {
        continue;
      }
      try {
        const argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
        const address = argv[argv.indexOf('-address') + 1];
        const id = argv[argv.indexOf('-id') + 1];
        if (path.basename(argv[0]).startsWith('containerd-shim') && address === this.s.socket && id) {
          ids.push(shimSocket(this.s.socket, 'k8s.io', id));
        }
      } catch {
        // exited meanwhile
      }
    }
    return ids;
  }
}

/**
 * Makes a workload from the synthesized YAML run on the test node: tolerates
 * its taint, uses the locally loaded controller image (imagePullPolicy Never),
 * and, when `apiPort` is given (a pod that talks to the API server), runs in the
 * host network with the API server's loopback address as its in-cluster config,
 * and its HTTP probes aimed at 127.0.0.1 (kubelet would probe the node's own address
 * otherwise: delivered locally, but not loopback).
 * Pods, Deployments, DaemonSets, StatefulSets and Jobs; other documents unchanged.
 */
export function onTestNode<T>(doc: T, options: { image: string; apiPort?: number }): T {
  const d = JSON.parse(JSON.stringify(doc));
  const spec = d?.kind === 'Pod' ? d.spec : ['Deployment', 'DaemonSet', 'StatefulSet', 'Job'].includes(d?.kind) ? d.spec?.template?.spec : undefined;
  if (!spec) {
    return d;
  }
  spec.tolerations = [...(spec.tolerations ?? []), { ...TEST_NODE_TAINT, operator: 'Equal' }];
  if (options.apiPort !== undefined) {
    spec.hostNetwork = true;
  }
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    if (typeof c.image === 'string' && c.image.includes('cdk8s-storage')) {
      c.image = options.image;
    }
    c.imagePullPolicy = 'Never';
    if (options.apiPort !== undefined) {
      const env = (c.env ?? []).filter((e: { name: string }) => !e.name.startsWith('KUBERNETES_SERVICE_'));
      c.env = [...env, { name: 'KUBERNETES_SERVICE_HOST', value: '127.0.0.1' }, { name: 'KUBERNETES_SERVICE_PORT', value: String(options.apiPort) }];
      for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) {
        if (probe?.httpGet) probe.httpGet.host = '127.0.0.1';
      }
    }
  }
  return d;
}

/** The repo:tag a docker archive (podman save) carries. */
async function archiveImageName(archive: string): Promise<string> {
  const r = await run('tar', ['-xOf', archive, 'manifest.json']);
  const manifest = JSON.parse(r.stdout) as Array<{ RepoTags?: string[] }>;
  const name = manifest[0]?.RepoTags?.[0];
  if (!name) {
    throw new Error(`${archive} names no image`);
  }
  return name;
}

function containerdConfig(dir: string, socket: string, runcRoot: string): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return [
    'version = 2',
    `root = "${path.join(dir, 'containerd')}"`,
    `state = "${path.join(dir, 'state')}"`,
    '[grpc]',
    `  address = "${socket}"`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${path.join(dir, 'opt')}"`,
    `[${cri}]`,
    `  sandbox_image = "${PAUSE_IMAGE}"`,
    // Without CAP_SYS_RESOURCE the pause container cannot get oom_score_adj -998.
    '  restrict_oom_score_adj = true',
    '  netns_mounts_under_state_dir = true',
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  disable_apparmor = true',
    `[${cri}.containerd]`,
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    `[${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.runc.options]`,
    `  Root = "${runcRoot}"`,
    '  SystemdCgroup = false',
    `[${cri}.cni]`,
    `  bin_dir = "${path.join(dir, 'cni', 'bin')}"`,
    `  conf_dir = "${path.join(dir, 'cni', 'conf')}"`,
    '',
  ].join('\n');
}

function kubeletConfig(s: TestNodeState, podLogsDir: string): object {
  return {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    containerRuntimeEndpoint: `unix://${s.socket}`,
    address: '127.0.0.1',
    port: s.kubeletPort,
    readOnlyPort: 0,
    healthzPort: 0,
    // This machine's hybrid cgroup layout counts as v1, which kubelet 1.35 refuses by default.
    failCgroupV1: false,
    failSwapOn: false,
    cgroupDriver: 'cgroupfs',
    // No kubepods hierarchy: a second environment's kubelet on this machine would
    // otherwise treat our pod cgroups as orphans.
    cgroupsPerQOS: false,
    enforceNodeAllocatable: [],
    podLogsDir,
    // Only the API server on loopback talks to it (logs, exec).
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    registerWithTaints: [TEST_NODE_TAINT],
    // The images are loaded once, from archives: never collect them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '1Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    resolvConf: '',
    serializeImagePulls: false,
    syncFrequency: '5s',
  };
}

/** containerd 1.6's shim socket for a container: /run/containerd/s/sha256(<address>/<namespace>/<id>). */
function shimSocket(address: string, namespace: string, id: string): string {
  return path.join(SHIM_SOCKET_DIR, crypto.createHash('sha256').update(path.join(address, namespace, id)).digest('hex'));
}

/** Unmounts every mount point under `dir`, deepest first (lazily if busy). */
async function unmountUnder(dir: string): Promise<void> {
  for (let pass = 0; pass < 5; pass++) {
    const points = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
      .map((line) => line.split(' ')[4])
      .filter((p): p is string => p !== undefined)
      .map((p) => p.replace(/\\([0-7]{3})/g, (_m, o) => String.fromCharCode(parseInt(o, 8))))
      .filter((p) => p === dir || p.startsWith(`${dir}/`))
      .sort((a, b) => b.length - a.length);
    if (points.length === 0) {
      return;
    }
    for (const p of points) {
      const r = await run('umount', [p]);
      if (r.code !== 0) {
        await run('umount', ['-l', p]);
      }
    }
  }
}

/** Removes kubelet's /var/log/containers symlinks that point into this node's pod log directory. */
function removeContainerLogLinks(podLogsDir: string): void {
  if (!fs.existsSync(CONTAINER_LOG_LINKS)) {
    return;
  }
  for (const entry of fs.readdirSync(CONTAINER_LOG_LINKS)) {
    const link = path.join(CONTAINER_LOG_LINKS, entry);
    try {
      if (fs.readlinkSync(link).startsWith(`${podLogsDir}/`)) {
        fs.rmSync(link, { force: true });
      }
    } catch {
      // not a symlink, or gone
    }
  }
}

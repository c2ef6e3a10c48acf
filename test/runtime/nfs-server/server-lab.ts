/**
 * A pod's worth of isolation for the in-cluster server, built from real parts (root only):
 * a network namespace that outlives server restarts (the pod's, held by a sleeper as the
 * pause container holds it), and per server run a private mount namespace (the container's:
 * its loop mounts die with it). The server side is server-child.ts; the client is a real
 * libnfs session (test/util/nfs-session.c) in the same network namespace.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { buildSync } from 'esbuild';

/** Pids of the processes in the mount namespace `mntNs` (a /proc/<pid>/ns/mnt link text). */
export function pidsInMountNamespace(mntNs: string): number[] {
  return fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n)).filter((pid) => {
    try {
      return fs.readlinkSync(`/proc/${pid}/ns/mnt`) === mntNs;
    } catch {
      return false;
    }
  }).map(Number);
}

/** Lines of JSON from a child's stdout, awaited one predicate at a time. */
class JsonLines {
  private readonly seen: any[] = [];
  private readonly waiters: Array<{ match: (m: any) => boolean; resolve: (m: any) => void }> = [];

  constructor(child: ChildProcess, private readonly closed: Promise<unknown>) {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      let message: any;
      try {
        message = JSON.parse(line);
      } catch {
        return;
      }
      const waiter = this.waiters.findIndex((w) => w.match(message));
      if (waiter >= 0) this.waiters.splice(waiter, 1)[0].resolve(message);
      else this.seen.push(message);
    });
  }

  next(match: (m: any) => boolean, what: string): Promise<any> {
    const found = this.seen.findIndex(match);
    if (found >= 0) return Promise.resolve(this.seen.splice(found, 1)[0]);
    return Promise.race([
      new Promise((resolve) => this.waiters.push({ match, resolve })),
      this.closed.then(() => {
        throw new Error(`${what}: the process exited first`);
      }),
    ]);
  }
}

export class ServerLab {
  public readonly root = fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-server-lab-'));
  public readonly dataDir = path.join(this.root, 'data');
  public readonly configDir = path.join(this.root, 'config');
  private readonly childJs = path.join(this.root, 'server-child.js');
  private readonly sessionBin = path.join(this.root, 'nfs-session');
  private holder?: ChildProcess;
  private readonly sessions: NfsSession[] = [];
  private server?: ServerRun;

  /** Builds the child and the client, makes the network namespace. */
  start(): void {
    fs.mkdirSync(this.dataDir);
    buildSync({ entryPoints: [path.join(__dirname, 'server-child.ts')], bundle: true, platform: 'node', target: 'node20', outfile: this.childJs, logLevel: 'error' });
    buildNfsSession(this.sessionBin);
    this.holder = spawn('unshare', ['--net', '--', 'sleep', 'infinity'], { stdio: 'ignore' });
    // Wait for the sleeper to be in its own namespace.
    const own = fs.readlinkSync('/proc/self/ns/net');
    while (fs.readlinkSync(`/proc/${this.holder.pid}/ns/net`) === own) execFileSync('sleep', ['0.01']);
    this.inNet('ip', ['link', 'set', 'lo', 'up']);
    // A pod has a non-loopback IPv4 address (eth0); ganesha's name lookups want one.
    this.inNet('ip', ['addr', 'add', '10.244.0.10/32', 'dev', 'lo']);
  }

  get netNs(): string {
    return `/proc/${this.holder!.pid}/ns/net`;
  }

  /** Runs a program in the lab's network namespace. */
  inNet(cmd: string, args: string[]): string {
    return execFileSync('nsenter', [`--net=${this.netNs}`, '--', cmd, ...args], { encoding: 'utf8' });
  }

  /**
   * Starts a server run (bus, recovery, ganesha) in a fresh mount namespace; resolves when
   * it serves. `capabilities` (e.g. `['CHOWN', ...]`): the run, and ganesha and the bus it
   * starts, get only these, with no_new_privs, as a container whose securityContext drops
   * ALL and adds them (setpriv limits the bounding set; root's capabilities on exec are it).
   */
  async startServer(extra: string[] = [], options: { capabilities?: readonly string[] } = {}): Promise<{ run: ServerRun; ready: any }> {
    const limit = options.capabilities
      ? ['setpriv', `--bounding-set=-all${options.capabilities.map((c) => `,+${c.toLowerCase()}`).join('')}`, '--inh-caps=-all', '--no-new-privs', '--']
      : [];
    const child = spawn('nsenter', [`--net=${this.netNs}`, '--', 'unshare', '--mount', '--propagation', 'private', '--', ...limit,
      process.execPath, this.childJs, this.dataDir, this.configDir, '2049', ...extra], { stdio: ['pipe', 'pipe', 'pipe'] });
    const run = new ServerRun(child, path.join(this.root, `server-${Date.now()}.log`));
    this.server = run;
    const own = fs.readlinkSync('/proc/self/ns/mnt');
    while (child.exitCode === null && run.knownNs === undefined) {
      const ns = fs.readlinkSync(`/proc/${child.pid}/ns/mnt`);
      if (ns !== own) run.knownNs = ns;
      else await new Promise((r) => setTimeout(r, 10));
    }
    const ready = await run.lines.next((m) => m.event === 'ready' || m.event === 'failed', 'server start');
    if (ready.event !== 'ready') throw new Error(`server failed to start: ${ready.error}\n${run.log()}`);
    return { run, ready };
  }

  /** A libnfs session on export `pseudo` of the server at `host` (an address in the lab's network namespace). */
  async session(pseudo: string, host = '127.0.0.1'): Promise<NfsSession> {
    const s = new NfsSession(spawn('nsenter', [`--net=${this.netNs}`, '--', this.sessionBin], { stdio: ['pipe', 'pipe', 'inherit'] }));
    this.sessions.push(s);
    const mounted = await s.send(`mount ${host} ${pseudo}`);
    if (!mounted.ok) throw new Error(`mounting ${pseudo}: ${mounted.error}`);
    return s;
  }

  /**
   * Loop devices on the host backed by `image`, once the kernel has finished tearing down
   * the mount namespaces that are gone (it does so shortly after their last process exits,
   * so this asks up to `tries` times, 50 ms apart, before answering what is still there).
   */
  async loopDevicesOf(image: string, tries = 200): Promise<string> {
    for (let i = 1; ; i++) {
      const devices = execFileSync('losetup', ['-j', image], { encoding: 'utf8' }).trim();
      if (devices === '' || i >= tries) return devices;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async cleanup(): Promise<void> {
    for (const s of this.sessions) s.close();
    if (this.server) await this.server.killAll();
    this.holder?.kill('SIGKILL');
    // Mountpoints are immutable while nothing is mounted on them.
    const mounts = path.join(this.dataDir, 'mounts');
    for (const name of fs.existsSync(mounts) ? fs.readdirSync(mounts) : []) execFileSync('chattr', ['-i', path.join(mounts, name)]);
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** One run of the server: its process, its answers, and kill -9 of everything in its mount namespace. */
export class ServerRun {
  public readonly lines: JsonLines;
  /** The run's mount namespace (nsenter and unshare exec into node), known before node may die, so killAll works after. */
  public knownNs?: string;
  private nextId = 1;
  private readonly exited: Promise<unknown>;

  constructor(private readonly child: ChildProcess, private readonly logFile: string) {
    this.exited = new Promise((resolve) => child.once('exit', resolve));
    this.lines = new JsonLines(child, this.exited);
    child.stderr!.pipe(fs.createWriteStream(logFile));
  }

  /** Sends a request; resolves with the answer's result, rejects with its error. */
  async request(op: string, args: Record<string, unknown> = {}): Promise<any> {
    const id = this.nextId++;
    this.child.stdin!.write(`${JSON.stringify({ id, op, ...args })}\n`);
    const answer = await this.lines.next((m) => m.id === id, `answer to ${op}`);
    if (!answer.ok) throw new Error(answer.error);
    return answer.result;
  }

  /** Sends a request that kills the server (crashAfter); resolves once the process is gone. */
  async requestCrash(op: string, args: Record<string, unknown>): Promise<void> {
    this.child.stdin!.write(`${JSON.stringify({ id: this.nextId++, op, ...args })}\n`);
    await this.exited;
  }

  /** kill -9 of every process of this run (server, ganesha, bus); resolves once the mount namespace is empty. */
  async killAll(): Promise<void> {
    const ns = this.knownNs;
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    if (!ns) return;
    for (;;) {
      const pids = pidsInMountNamespace(ns);
      if (pids.length === 0) return;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch { /* gone meanwhile */ }
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  log(): string {
    return fs.existsSync(this.logFile) ? fs.readFileSync(this.logFile, 'utf8').split('\n').slice(-40).join('\n') : '';
  }

}

/** A long-lived libnfs session (one NFSv4 mount, file handles kept in slots). */
export class NfsSession {
  private readonly lines: JsonLines;

  constructor(private readonly child: ChildProcess) {
    this.lines = new JsonLines(child, new Promise((resolve) => child.once('exit', resolve)));
  }

  /** Sends one command line; resolves with its JSON answer. */
  send(line: string): Promise<any> {
    this.child.stdin!.write(`${line}\n`);
    return this.lines.next(() => true, line);
  }

  close(): void {
    this.child.stdin!.end();
    this.child.kill('SIGKILL');
  }
}

/** Repeats an NFS command until it succeeds (a fresh or restarted ganesha refuses opens during its grace period); counts the tries. */
export async function untilOk(session: NfsSession, line: string, tries = 600): Promise<{ answer: any; tries: number }> {
  for (let i = 1; ; i++) {
    const answer = await session.send(line);
    if (answer.ok || i >= tries) return { answer, tries: i };
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Builds the libnfs session client (test/util/nfs-session.c) to `outfile`. */
export function buildNfsSession(outfile: string): void {
  execFileSync('cc', ['-O2', '-o', outfile, path.join(__dirname, '..', '..', 'util', 'nfs-session.c'), '-lnfs']);
}

/** Bundles the runtime's entry point (the command the image runs) to `outfile`. */
export function bundleCommand(outfile: string): void {
  buildSync({ entryPoints: [path.join(__dirname, '..', '..', '..', 'src', 'runtime', 'main.ts')], bundle: true, platform: 'node', target: 'node20', outfile, logLevel: 'error' });
}

/** Writes a kubeconfig whose API server is a closed loopback port: the command starts, and its API calls fail. */
export function writeUnreachableKubeconfig(file: string): void {
  fs.writeFileSync(file, [
    'apiVersion: v1', 'kind: Config', 'current-context: c',
    'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
    'users: [{name: u, user: {token: x}}]', 'contexts: [{name: c, context: {cluster: c, user: u}}]',
  ].join('\n'));
}

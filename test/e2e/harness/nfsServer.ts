/**
 * An NFS server for the e2e suite: nfs-ganesha (VFS FSAL) exporting a fresh
 * temp directory on loopback, with libnfs-utils (`nfs-cp`, `nfs-cat`, `nfs-ls`)
 * as the client, since no kernel NFS client is needed or assumed.
 *
 * NFSv3 and NFSv4 are both served when rpcbind can run (ganesha will not start
 * NFSv3 without registering with it); the helpers then use NFSv3, because the
 * libnfs 4.0 NFSv4 write path fails for files over about 3.9 KB. Without
 * rpcbind only NFSv4 is served and writes must stay small. Client URLs always
 * carry the server's ports, so several servers (one per harness) can coexist.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  freePort,
  isRunning,
  portIsFree,
  portIsOpen,
  ProcessRecord,
  removeStateDir,
  run,
  startProcess,
  StopWaiting,
  stopProcess,
  sweepProcesses,
  tail,
  waitFor,
} from './proc';

export interface NfsServerOptions {
  /** Parent of the temp directory (default: os.tmpdir()). */
  readonly tmpRoot?: string;
  /** NFS port; default 2049 when free, else a free port (`environment.ts` reads E2E_NFS_PORT). */
  readonly port?: number;
  /** Pseudo path of the export (what a PV's `nfs.path` starts with). Default `/export`. */
  readonly exportPath?: string;
  /** Serve NFSv3 too (needs rpcbind; started when not running). Default true. */
  readonly nfsv3?: boolean;
  /** Extra lines for the NFS_CORE_PARAM block. */
  readonly extraCoreParams?: string[];
  readonly readyTimeoutMs?: number;
}

export interface NfsServerState {
  readonly kind: 'cdk8s-storage-e2e-nfs-server';
  readonly dir: string;
  readonly root: string;
  readonly host: string;
  readonly exportPath: string;
  readonly port: number;
  readonly mountPort: number;
  /** NFS version the helpers use (3 when served, else 4). */
  readonly clientVersion: 3 | 4;
  readonly processes: { ganesha?: ProcessRecord; rpcbind?: ProcessRecord };
}

const RPCBIND_CANDIDATES = ['/usr/sbin/rpcbind', '/sbin/rpcbind'];
const GANESHA_CANDIDATES = ['/usr/bin/ganesha.nfsd', '/usr/sbin/ganesha.nfsd'];

function findExecutable(candidates: string[], name: string): string {
  for (const c of candidates) {
    if (fs.existsSync(c)) {
      return c;
    }
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const p = path.join(dir, name);
    if (dir && fs.existsSync(p)) {
      return p;
    }
  }
  throw new Error(`${name} not found (install the nfs-ganesha, nfs-ganesha-vfs and rpcbind packages)`);
}

export class NfsServer {
  /** Starts rpcbind (if needed and not running) and nfs-ganesha; waits until the export answers. */
  public static async start(options: NfsServerOptions = {}): Promise<NfsServer> {
    const ganesha = findExecutable(GANESHA_CANDIDATES, 'ganesha.nfsd');
    const dir = fs.mkdtempSync(path.join(options.tmpRoot ?? os.tmpdir(), 'cdk8s-storage-nfs-'));
    const root = path.join(dir, 'export');
    for (const sub of ['export', 'recovery', 'logs']) {
      fs.mkdirSync(path.join(dir, sub), { recursive: true });
    }
    fs.chmodSync(root, 0o777);
    const exportPath = options.exportPath ?? '/export';
    const server = new NfsServer({
      kind: 'cdk8s-storage-e2e-nfs-server',
      dir,
      root,
      host: '127.0.0.1',
      exportPath,
      port: 0,
      mountPort: 0,
      clientVersion: 4,
      processes: {},
    });
    try {
      let v3 = options.nfsv3 ?? true;
      if (v3) {
        v3 = await server.ensureRpcbind();
      }
      let lastError: Error | undefined;
      // Attempts: a port taken meanwhile is retried; a refused Bind_addr (hosts
      // without a non-loopback IPv4 address) is retried without it.
      for (let attempt = 0; attempt < 4; attempt++) {
        const port = options.port ?? (attempt === 0 && await portIsFree(2049) ? 2049 : await freePort());
        const mountPort = await freePort();
        const bindLoopback = attempt < 2;
        const conf = path.join(dir, 'ganesha.conf');
        fs.writeFileSync(conf, ganeshaConfig({ root, exportPath, port, mountPort, v3, bindLoopback, recovery: path.join(dir, 'recovery'), extra: options.extraCoreParams ?? [] }));
        const logFile = path.join(dir, 'logs', 'ganesha.log');
        const record = startProcess({
          name: 'ganesha',
          command: ganesha,
          args: ['-F', '-f', conf, '-L', logFile, '-p', path.join(dir, 'ganesha.pid'), '-N', 'NIV_EVENT'],
          logFile: path.join(dir, 'logs', 'ganesha.out'),
          cwd: dir,
        });
        server.s = { ...server.s, port, mountPort, clientVersion: v3 ? 3 : 4, processes: { ...server.s.processes, ganesha: record } };
        try {
          await waitFor('nfs-ganesha to serve the export', async () => {
            if (!isRunning(record)) {
              throw new StopWaiting('ganesha.nfsd exited during startup');
            }
            if (!await portIsOpen(port)) {
              return false;
            }
            const r = await run('nfs-ls', [server.url('')], { timeoutMs: 10_000 });
            return r.code === 0;
          }, { timeoutMs: options.readyTimeoutMs ?? 60_000, intervalMs: 100 });
          return server;
        } catch (err) {
          lastError = new Error(`${(err as Error).message}\n--- ${logFile} (tail) ---\n${tail(logFile, 30)}\n${tail(path.join(dir, 'logs', 'ganesha.out'), 10)}`);
          await stopProcess(record);
          if (!(err instanceof StopWaiting)) {
            break;
          }
        }
      }
      throw lastError ?? new Error('nfs-ganesha did not start');
    } catch (err) {
      await server.stop({ keepLogs: true });
      throw err;
    }
  }

  /** Re-attaches to a server started elsewhere (e.g. by the jest global setup). */
  public static attach(state: NfsServerState | string): NfsServer {
    const s: NfsServerState = typeof state === 'string' ? JSON.parse(fs.readFileSync(state, 'utf8')) : state;
    return new NfsServer(s);
  }

  private s: NfsServerState;

  private constructor(state: NfsServerState) {
    this.s = state;
  }

  /** Server address for a PV's `spec.nfs.server`. */
  public get host(): string { return this.s.host; }
  /** Export path for a PV's `spec.nfs.path` (subdirectories go below it). */
  public get exportPath(): string { return this.s.exportPath; }
  /** The exported directory on disk. */
  public get root(): string { return this.s.root; }
  public get port(): number { return this.s.port; }
  public get mountPort(): number { return this.s.mountPort; }
  public get dir(): string { return this.s.dir; }
  public get logDir(): string { return path.join(this.s.dir, 'logs'); }
  /** NFS version the client helpers use. */
  public get clientVersion(): 3 | 4 { return this.s.clientVersion; }

  public state(): NfsServerState {
    return JSON.parse(JSON.stringify(this.s));
  }

  /**
   * A libnfs URL for a path: absolute paths are NFS paths as in a PV
   * (`/export/ns/claim/file`), relative paths are relative to the export.
   */
  public url(p: string): string {
    const nfsPath = this.nfsPath(p);
    const query = this.s.clientVersion === 3
      ? `version=3&nfsport=${this.s.port}&mountport=${this.s.mountPort}`
      : `version=4&nfsport=${this.s.port}`;
    return `nfs://${this.s.host}${encodeURI(nfsPath)}?${query}`;
  }

  /** The on-disk path behind an NFS path (absolute = as in a PV, relative = under the export). */
  public diskPath(p: string): string {
    const rel = path.posix.relative(this.s.exportPath, this.nfsPath(p));
    return path.join(this.s.root, rel);
  }

  /**
   * Creates a file through NFS (`nfs-cp`). NFS creates are exclusive here: the
   * file must not exist yet. Without NFSv3 keep it under ~3.5 KB.
   */
  public async writeFile(p: string, content: string | Buffer): Promise<void> {
    const tmp = path.join(this.s.dir, `upload-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`);
    fs.writeFileSync(tmp, content);
    try {
      const r = await run('nfs-cp', [tmp, this.url(p)], { timeoutMs: 60_000 });
      if (r.code !== 0) {
        throw new Error(`nfs-cp to ${this.url(p)} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
      }
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  /** Reads a file through NFS (`nfs-cat`). */
  public async readFile(p: string): Promise<string> {
    return (await this.readFileBuffer(p)).toString('utf8');
  }

  public async readFileBuffer(p: string): Promise<Buffer> {
    const r = await run('nfs-cat', [this.url(p)], { timeoutMs: 60_000 });
    if (r.code !== 0) {
      throw new Error(`nfs-cat ${this.url(p)} failed (exit ${r.code}): ${r.stderr.trim()}`);
    }
    return r.stdoutBuffer;
  }

  /** Lists a directory through NFS (`nfs-ls`); returns entry names. */
  public async list(p: string): Promise<string[]> {
    const r = await run('nfs-ls', [this.url(p)], { timeoutMs: 60_000 });
    if (r.code !== 0) {
      throw new Error(`nfs-ls ${this.url(p)} failed (exit ${r.code}): ${r.stderr.trim()}`);
    }
    return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => l.trim().split(/\s+/).slice(5).join(' '))
      .filter((n) => n !== '.' && n !== '..');
  }

  /**
   * Stops ganesha (and rpcbind if this server started it) and removes the temp
   * directory; with `keepLogs` (default: KEEP_E2E_LOGS=1) the logs stay.
   */
  public async stop(options: { keepLogs?: boolean; quiet?: boolean } = {}): Promise<string | undefined> {
    const keepLogs = options.keepLogs ?? process.env.KEEP_E2E_LOGS === '1';
    if (this.s.processes.ganesha) {
      await stopProcess(this.s.processes.ganesha, 15_000);
    }
    if (this.s.processes.rpcbind) {
      await stopProcess(this.s.processes.rpcbind);
    }
    await sweepProcesses(this.s.dir);
    return removeStateDir(this.s.dir, { keepLogs, quiet: options.quiet, what: 'nfs-ganesha' });
  }

  private nfsPath(p: string): string {
    const exportPath = this.s.exportPath;
    const full = p.startsWith('/') ? path.posix.normalize(p) : path.posix.join(exportPath, p);
    if (full !== exportPath && !full.startsWith(exportPath.endsWith('/') ? exportPath : `${exportPath}/`)) {
      throw new Error(`${p} is not under the export ${exportPath}`);
    }
    return full.replace(/\/$/, '') || '/';
  }

  /** True when rpcbind answers (already running, or started here). */
  private async ensureRpcbind(): Promise<boolean> {
    if (await portIsOpen(111)) {
      return true;
    }
    let rpcbind: string;
    try {
      rpcbind = findExecutable(RPCBIND_CANDIDATES, 'rpcbind');
    } catch {
      return false;
    }
    fs.mkdirSync('/run/rpcbind', { recursive: true });
    const record = startProcess({
      name: 'rpcbind',
      command: rpcbind,
      // -f: foreground (stay in our process group); -w: warm start state.
      args: ['-f', '-w'],
      logFile: path.join(this.s.dir, 'logs', 'rpcbind.log'),
    });
    this.s = { ...this.s, processes: { ...this.s.processes, rpcbind: record } };
    try {
      await waitFor('rpcbind', async () => {
        if (!isRunning(record)) {
          throw new StopWaiting('rpcbind exited');
        }
        return portIsOpen(111);
      }, { timeoutMs: 10_000, intervalMs: 50 });
      return true;
    } catch {
      await stopProcess(record);
      this.s = { ...this.s, processes: { ...this.s.processes, rpcbind: undefined } };
      return false;
    }
  }
}

function ganeshaConfig(o: {
  root: string;
  exportPath: string;
  port: number;
  mountPort: number;
  v3: boolean;
  bindLoopback: boolean;
  recovery: string;
  extra: string[];
}): string {
  const protocols = o.v3 ? '3, 4' : '4';
  return `# nfs-ganesha configuration for the cdk8s-storage e2e suite
NFS_CORE_PARAM {
    Protocols = ${protocols};
    NFS_Port = ${o.port};
    MNT_Port = ${o.mountPort};
${o.bindLoopback ? '    Bind_addr = 127.0.0.1;\n' : ''}    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
    mount_path_pseudo = true;
${o.extra.map((l) => `    ${l}\n`).join('')}}
NFSV4 {
    Graceless = true;
    RecoveryRoot = ${o.recovery};
    Only_Numeric_Owners = true;
}
NFS_KRB5 {
    Active_krb5 = false;
}
EXPORT {
    Export_Id = 1;
    Path = ${o.root};
    Pseudo = ${o.exportPath};
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    Protocols = ${protocols};
    FSAL {
        Name = VFS;
    }
}
LOG {
    Default_Log_Level = EVENT;
}
`;
}

/**
 * Brings the server up in the one order that never serves a bare mountpoint and never
 * leaves ganesha without its control channel: the backing storage checked for the
 * `--quota` mode (before any child runs, so a refusal leaves nothing behind), the D-Bus bus (ganesha never attaches to a
 * bus that comes later), then every recorded volume mounted and every unfinished change
 * finished or undone (VolumeManager.recover), then ganesha as a child process. Either
 * child exiting ends the server (the command exits non-zero and the kubelet restarts it).
 */
import { ChildProcess, spawn } from 'child_process';
import { promises as fsp } from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { busConfig } from './bus-config';
import { ChildLogEntry, ChildOutput } from './child-output';
import { ExportControl } from './export-control';
import { DEFAULT_GRACE_SECONDS, DEFAULT_LEASE_SECONDS, mainConfig } from './ganesha-config';
import type { ServerLayout } from './layout';
import { nfsNull } from './nfs-null';
import type { RecoveryStep } from './recovery';
import type { VolumeManager } from './volume-manager';
import { NFS_PORT } from '../../contract/controller-config';
import type { CommandRunner } from '../core/command';

export interface SupervisorOptions {
  readonly layout: ServerLayout;
  /** `--ganesha-config-dir`: ganesha.conf, the bus's config and socket, pid files. */
  readonly configDir: string;
  readonly volumes: VolumeManager;
  readonly run: CommandRunner;
  readonly port?: number;
  readonly leaseSeconds?: number;
  readonly graceSeconds?: number;
  /** Longest wait for the bus socket and for ganesha to answer NFS and D-Bus. */
  readonly startTimeoutMs?: number;
  readonly log: (message: string, fields?: Record<string, unknown>) => void;
  /**
   * A line the bus or ganesha wrote, as a log entry at its own level.
   * @default logged through `log`
   */
  readonly logChild?: (entry: ChildLogEntry) => void;
}

/** Why the server stopped: which child exited, and how. */
export interface ChildExit {
  readonly child: 'dbus-daemon' | 'ganesha.nfsd';
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export class ServerSupervisor {
  /** Resolves when the bus or ganesha exits, whichever is first. */
  public readonly exited: Promise<ChildExit>;
  private resolveExit!: (exit: ChildExit) => void;
  private readonly children = new Map<ChildExit['child'], ChildProcess>();
  private stopping = false;

  constructor(private readonly options: SupervisorOptions) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  get port(): number {
    return this.options.port ?? NFS_PORT;
  }

  get busAddress(): string {
    return `unix:path=${path.join(this.options.configDir, 'bus')}`;
  }

  /** The pid of ganesha once started. */
  get ganeshaPid(): number | undefined {
    return this.children.get('ganesha.nfsd')?.pid;
  }

  /** Bus, recovery, ganesha; resolves once ganesha answers NFS and D-Bus, with what recovery did. */
  async start(): Promise<RecoveryStep[]> {
    const { configDir, layout } = this.options;
    await this.options.volumes.preflight();
    await fsp.mkdir(configDir, { recursive: true });
    const socket = path.join(configDir, 'bus');
    await fsp.rm(socket, { force: true });
    const busConf = path.join(configDir, 'dbus.conf');
    await fsp.writeFile(busConf, busConfig(socket, path.join(configDir, 'dbus.pid')));
    await fsp.rm(path.join(configDir, 'dbus.pid'), { force: true });
    this.startChild('dbus-daemon', ['--nofork', `--config-file=${busConf}`], {});
    await this.waitFor('the D-Bus socket', async () => fsp.access(socket).then(() => true, () => false));

    const steps = await this.options.volumes.recover();

    const conf = path.join(configDir, 'ganesha.conf');
    await fsp.writeFile(conf, mainConfig({
      exportsDir: layout.exportsDir,
      recoveryDir: layout.recoveryDir,
      leaseSeconds: this.options.leaseSeconds ?? DEFAULT_LEASE_SECONDS,
      graceSeconds: this.options.graceSeconds ?? DEFAULT_GRACE_SECONDS,
      port: this.options.port,
    }));
    // ganesha puts each filesystem's UUID, read with libblkid, in its file handles. libblkid's
    // cache file trusts an old device -> UUID entry for a while, so a restarted ganesha gave
    // a volume on a reused loop device the UUID of the volume that had it before (stale
    // handles, or an export refused as a duplicate). No cache file: every UUID is read anew.
    this.startChild('ganesha.nfsd', ['-F', '-f', conf, '-L', 'STDERR', '-p', path.join(configDir, 'ganesha.pid'), '-N', 'NIV_EVENT'], {
      DBUS_SYSTEM_BUS_ADDRESS: this.busAddress,
      BLKID_FILE: '/dev/null',
    });
    const exports = new ExportControl(this.busAddress, this.options.run);
    await this.waitFor('ganesha to answer NFS and D-Bus', async () => {
      if (!await nfsNull('127.0.0.1', this.port, 2000)) return false;
      return exports.list().then(() => true, () => false);
    });
    this.options.volumes.attachExports(exports);
    return steps;
  }

  /** Readiness: an NFS NULL call through the server on loopback answered. */
  async serving(): Promise<boolean> {
    return nfsNull('127.0.0.1', this.port, 2000);
  }

  /** Stops ganesha (SIGTERM: it ends its sessions), then the bus. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const child of [...this.children.values()].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await gone;
    }
  }

  private startChild(name: ChildExit['child'], args: string[], env: Record<string, string>): void {
    // Their text output goes through the command's logger: the container's log stays JSON lines.
    const child = spawn(name, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.children.set(name, child);
    const output = new ChildOutput(name);
    const logChild = this.options.logChild ?? ((e: ChildLogEntry) => this.options.log(e.msg, { ...e.fields, level: e.level }));
    for (const stream of [child.stdout, child.stderr]) {
      readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
        const entry = output.line(line);
        if (entry) logChild(entry);
      });
    }
    child.on('error', (error) => {
      this.options.log(`${name} could not run`, { error: error.message });
      this.resolveExit({ child: name, code: null, signal: null });
    });
    child.on('exit', (code, signal) => {
      if (!this.stopping) this.options.log(`${name} exited`, { code, signal });
      this.resolveExit({ child: name, code, signal });
    });
    this.options.log(`started ${name}`, { pid: child.pid });
  }

  /** Polls `ready` until it is true; fails at once when a child exits, or after the start timeout. */
  private async waitFor(what: string, ready: () => Promise<boolean>): Promise<void> {
    let exited: ChildExit | undefined;
    void this.exited.then((e) => (exited = e));
    const deadline = Date.now() + (this.options.startTimeoutMs ?? 120_000);
    for (;;) {
      if (exited) throw new Error(`waiting for ${what}: ${exited.child} exited (code ${exited.code}, signal ${exited.signal})`);
      if (await ready()) return;
      if (Date.now() > deadline) throw new Error(`waiting for ${what}: no answer within ${this.options.startTimeoutMs ?? 120_000} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

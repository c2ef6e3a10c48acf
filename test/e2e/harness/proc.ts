/**
 * Process and network helpers shared by the harness: detached child processes
 * that log to files (so they can outlive the process that started them), process
 * group shutdown, free ports, readiness polling.
 */
import { spawn, execFile } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import * as path from 'path';

/** What is needed to find (and stop) a process that was started detached. */
export interface ProcessRecord {
  readonly name: string;
  readonly pid: number;
  /** The executable, used to make sure a recorded pid still belongs to us. */
  readonly command: string;
  readonly args: string[];
  readonly logFile: string;
}

export interface StartProcessOptions {
  readonly name: string;
  readonly command: string;
  readonly args: string[];
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

/**
 * Starts a process in its own process group with stdout and stderr appended to
 * `logFile`. No pipe ties it to this process, so it keeps running if this
 * process exits; stop it with `stopProcess`.
 */
export function startProcess(options: StartProcessOptions): ProcessRecord {
  const fd = fs.openSync(options.logFile, 'a');
  try {
    const child = spawn(options.command, options.args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    if (child.pid === undefined) {
      throw new Error(`could not start ${options.command}`);
    }
    child.on('error', () => undefined);
    child.unref();
    return {
      name: options.name,
      pid: child.pid,
      command: options.command,
      args: options.args,
      logFile: options.logFile,
    };
  } finally {
    fs.closeSync(fd);
  }
}

/** True while the recorded process exists, is not a zombie and still runs the recorded command. */
export function isRunning(record: Pick<ProcessRecord, 'pid' | 'command'>): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${record.pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') {
      return false;
    }
    const argv0 = fs.readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0')[0];
    return argv0 === record.command;
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Stops a process started by `startProcess` and everything in its process
 * group: SIGTERM, then SIGKILL after `graceMs`. Resolves once no live member of
 * the group is left. A record whose pid now belongs to another program is left alone.
 */
export async function stopProcess(record: ProcessRecord, graceMs = 10_000): Promise<void> {
  // A pid in use as a process group id is never handed out again, so live members
  // of the group are ours even when the leader has already exited. If the pid runs
  // another program, the group is not ours.
  const leaderReused = fs.existsSync(`/proc/${record.pid}`) && !isRunning(record) && !isZombie(record.pid);
  if (leaderReused && readPgid(record.pid) !== record.pid) {
    return;
  }
  const alive = (): boolean => isRunning(record) || liveGroupMembers(record.pid).length > 0;
  if (!alive()) {
    return;
  }
  signalGroup(record.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && alive()) {
    await sleep(100);
  }
  if (alive()) {
    signalGroup(record.pid, 'SIGKILL');
    const killDeadline = Date.now() + 5_000;
    while (Date.now() < killDeadline && alive()) {
      await sleep(100);
    }
  }
}

function procStat(pid: number): { state: string; pgid: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], pgid: Number(fields[2]) };
  } catch {
    return undefined;
  }
}

function isZombie(pid: number): boolean {
  const state = procStat(pid)?.state;
  return state === 'Z' || state === 'X';
}

function readPgid(pid: number): number | undefined {
  return procStat(pid)?.pgid;
}

/** Pids of the non-zombie processes in process group `pgid`. */
export function liveGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    const stat = procStat(Number(entry));
    if (stat && stat.pgid === pgid && stat.state !== 'Z' && stat.state !== 'X') {
      members.push(Number(entry));
    }
  }
  return members;
}

/**
 * Kills every process whose command line mentions `marker` (a temp directory
 * the harness created). The last line of defence against leaks.
 */
export async function sweepProcesses(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    const pid = Number(entry);
    if (pid === process.pid) {
      continue;
    }
    try {
      const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmdline.includes(marker)) {
        found.push(pid);
      }
    } catch {
      // exited meanwhile
    }
  }
  for (const pid of found) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return found;
}

/**
 * Removes a component's temp directory; with `keepLogs` only its `logs/` stays (and is
 * named on stderr unless `quiet`). Returns the kept log directory, if any.
 */
export function removeStateDir(dir: string, options: { keepLogs: boolean; quiet?: boolean; what: string }): string | undefined {
  if (!fs.existsSync(dir)) {
    return undefined;
  }
  if (!options.keepLogs) {
    fs.rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  for (const entry of fs.readdirSync(dir)) {
    if (entry !== 'logs') {
      fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
    }
  }
  const logDir = path.join(dir, 'logs');
  if (!options.quiet) {
    process.stderr.write(`${options.what} logs kept in ${logDir}\n`);
  }
  return logDir;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

/** True when nothing listens on 127.0.0.1:port and it can be bound. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.on('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

/** True when something accepts TCP connections on host:port. */
export function portIsOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1_000);
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(false));
  });
}

export interface HttpResult {
  readonly status: number;
  readonly body: string;
}

/** GET a URL; https uses the given CA (or none to skip verification) and optional client cert. */
export function httpGet(url: string, tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } = {}): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const isHttps = url.startsWith('https:');
    const options: https.RequestOptions = isHttps
      ? { ca: tls.ca, cert: tls.cert, key: tls.key, rejectUnauthorized: tls.ca !== undefined, timeout: 5_000 }
      : { timeout: 5_000 };
    const req = (isHttps ? https : http).get(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: GET ${url}`)));
    req.on('error', reject);
  });
}

/** Last `lines` lines of a file, for error messages. */
export function tail(file: string, lines = 30): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return text.split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion, optionally feeding stdin; never throws on a non-zero exit. */
export function run(
  command: string,
  args: string[],
  options: { input?: string | Buffer; env?: NodeJS.ProcessEnv; timeoutMs?: number; encoding?: 'utf8' | 'buffer' } = {},
): Promise<RunResult & { stdoutBuffer: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      {
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 120_000,
        maxBuffer: 256 * 1024 * 1024,
        encoding: 'buffer',
      },
      (error, stdout, stderr) => {
        const errorCode = (error as { code?: unknown } | null)?.code;
        const code = !error ? 0 : typeof errorCode === 'number' ? errorCode : 1;
        if (errorCode === 'ENOENT') {
          reject(new Error(`${command} not found`));
          return;
        }
        resolve({
          code,
          stdout: stdout.toString('utf8'),
          stderr: stderr.toString('utf8'),
          stdoutBuffer: stdout,
        });
      },
    );
    if (options.input !== undefined) {
      child.stdin?.end(options.input);
    } else {
      child.stdin?.end();
    }
  });
}

/** Thrown from a `waitFor` check to stop waiting at once (other errors are retried). */
export class StopWaiting extends Error {}

/**
 * Polls `check` until it returns a value other than undefined/false, or throws
 * after `timeoutMs`. Errors thrown by `check` count as "not yet", except
 * `StopWaiting`, which ends the wait immediately.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  options: { timeoutMs?: number; intervalMs?: number; onTimeout?: () => string } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) {
        return value;
      }
    } catch (err) {
      if (err instanceof StopWaiting) {
        throw err;
      }
      lastError = err;
    }
    if (Date.now() > deadline) {
      const detail = options.onTimeout ? `\n${options.onTimeout()}` : '';
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out waiting for ${what}${cause}${detail}`);
    }
    await sleep(options.intervalMs ?? 200);
  }
}

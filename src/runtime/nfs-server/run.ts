/**
 * Runs the `nfs-server` command: the in-cluster server's supervisor (bus, recovery of every
 * volume, ganesha) behind the ops endpoints; core/run-command.ts serves them and shuts it
 * down. ganesha or the bus exiting ends the command with status 1, so the kubelet restarts
 * the container and the next start recovers. /readyz is an NFS NULL call through ganesha.
 */
import { NfsServerConfig } from './flags';
import { ServerLayout } from './layout';
import { ServerSupervisor } from './supervisor';
import { VolumeManager } from './volume-manager';
import { ENV } from '../../contract/controller-config';
import { runCommand as runProgram } from '../core/command';
import { commandReporting, CommandRunOptions, runCommand } from '../core/run-command';
import type { Logger } from '../ops/log';
import type { EventPort } from '../ports/events';

export interface NfsServerRunOptions extends CommandRunOptions {
  /** Where events go (the API server's, once connected). */
  readonly eventPort: () => EventPort;
  /** NFS port ganesha serves and /readyz calls; 2049 unless a test needs another. */
  readonly nfsPort?: number;
  /** Seconds between the NFS NULL calls that /readyz reports. */
  readonly readinessIntervalMs?: number;
}

/** Runs until the shutdown signal (status 0) or until ganesha or the bus exits (status 1). */
export async function runNfsServer(config: NfsServerConfig, log: Logger, options: NfsServerRunOptions): Promise<number> {
  if (config.quota !== 'loop-image') {
    // The other modes are in the contract; this server enforces sizes with loop images only so far.
    log.warn('only --quota=loop-image is implemented; volumes are loop images', { quota: config.quota });
  }
  const { metrics, events } = commandReporting(options.eventPort(), { component: config.provisionerName, instance: process.env[ENV.podName] || 'local' }, log);
  const layout = new ServerLayout(config.dataDir);
  const volumes = new VolumeManager({
    layout,
    run: runProgram,
    preallocate: config.preallocate,
    report: (message, fields) => log.info(message, fields),
  });
  const supervisor = new ServerSupervisor({
    layout,
    configDir: config.ganeshaConfigDir,
    volumes,
    run: runProgram,
    port: options.nfsPort,
    log: (message, fields) => log.info(message, fields),
  });

  let serving = false;
  let started = false;
  let poll: NodeJS.Timeout | undefined;
  let childExited = false;
  let stopping = false;
  const childExit = supervisor.exited.then((exit) => {
    // Children ending because the command stops them are no failure.
    if (!stopping) childExited = true;
    return `${exit.child} exited (code ${exit.code}, signal ${exit.signal})`;
  });
  const code = await runCommand({
    // ganesha or the bus ending is a shutdown too, reported by the exit status.
    shutdownSignal: Promise.race([options.shutdownSignal, childExit]),
    onListening: options.onListening,
    log,
    metrics,
    events,
    httpPort: config.httpPort,
    failing: () => ({ forMs: 0, what: 'ganesha' }),
    ready: () => {
      if (!started) return { ok: false, detail: 'starting: bus, volumes, ganesha' };
      return serving ? { ok: true, detail: 'ganesha answers NFS on loopback' } : { ok: false, detail: 'ganesha does not answer an NFS NULL call' };
    },
    start: async () => {
      const steps = await supervisor.start();
      started = true;
      serving = true;
      log.info('serving', { volumes: steps.filter((s) => s.kind === 'serve' || s.kind === 'finish-grow').length, recovered: steps.filter((s) => s.kind !== 'serve').map((s) => `${s.kind} ${s.pv}`) });
      const check = async () => {
        serving = await supervisor.serving();
        poll = setTimeout(() => void check(), options.readinessIntervalMs ?? 2000);
      };
      poll = setTimeout(() => void check(), options.readinessIntervalMs ?? 2000);
    },
    stop: async () => {
      stopping = true;
      clearTimeout(poll);
      await supervisor.stop();
    },
    describe: { provisioner: config.provisionerName, dataDir: config.dataDir, quota: config.quota, preallocate: config.preallocate, service: `${config.namespace}/${config.serviceName}` },
  });
  return childExited ? 1 : code;
}


/**
 * Runs the `nfs-server` command: the in-cluster server's supervisor (bus, recovery of every
 * volume, ganesha) behind the ops endpoints; core/run-command.ts serves them and shuts it
 * down. ganesha or the bus exiting ends the command with status 1, so the kubelet restarts
 * the container and the next start recovers. /readyz is an NFS NULL call through ganesha.
 *
 * Once ganesha serves, the command reads its Service's cluster IP and runs the provisioning
 * loop (nfs/work-loop.ts, with leader election) over the volume manager: claims become
 * volumes kept as `--quota` says (backends.ts), resizes grow the volume first, usage comes
 * from statvfs (loop-image, xfs-project) or a walk (none). Readiness and liveness
 * stay ganesha's alone: an unreachable API server stops provisioning, never the serving of
 * existing volumes (a restart or an unready endpoint would cut every client off).
 */
import { volumeBackend } from './backends';
import { DirectoryMeter } from './directory-meter';
import { NfsServerConfig } from './flags';
import { ServerLayout } from './layout';
import { PSEUDO_ROOT, ServerProvisioner } from './provisioner';
import { volumeResizeBackend } from './resize-backend';
import { StatvfsMeter } from './statvfs-meter';
import { ServerSupervisor } from './supervisor';
import { VolumeManager } from './volume-manager';
import { ENV } from '../../contract/controller-config';
import { runCommand as runProgram } from '../core/command';
import { errorMessage } from '../core/errors';
import { commandReporting, CommandRunOptions, runCommand } from '../core/run-command';
import { WorkLoop, workLoop } from '../nfs/work-loop';
import type { Logger } from '../ops/log';
import type { ServerClusterPorts } from '../ports/nfs-api';

export interface NfsServerRunOptions extends CommandRunOptions {
  /** Connects to the API server (events, the Service, the provisioning loop). */
  readonly connect: () => ServerClusterPorts;
  /** Milliseconds between attempts to read the Service's cluster IP. @default 2000 */
  readonly serviceRetryMs?: number;
  /** Seconds between the NFS NULL calls that /readyz reports. */
  readonly readinessIntervalMs?: number;
}

/** Runs until the shutdown signal (status 0) or until ganesha or the bus exits (status 1). */
export async function runNfsServer(config: NfsServerConfig, log: Logger, options: NfsServerRunOptions): Promise<number> {
  const client = options.connect();
  const { metrics, events } = commandReporting(client.eventPort(), { component: config.provisionerName, instance: process.env[ENV.podName] || 'local' }, log);
  const layout = new ServerLayout(config.dataDir);
  const volumes = new VolumeManager({
    layout,
    backend: volumeBackend(config.quota, { layout, run: runProgram, preallocate: config.preallocate }),
    report: (message, fields, level = 'info') => log[level](message, fields),
  });
  const supervisor = new ServerSupervisor({
    layout,
    configDir: config.ganeshaConfigDir,
    volumes,
    run: runProgram,
    port: config.nfsPort,
    log: (message, fields) => log.info(message, fields),
    logChild: (entry) => log[entry.level](entry.msg, entry.fields),
  });

  let serving = false;
  let started = false;
  let poll: NodeJS.Timeout | undefined;
  let childExited = false;
  let stopping = false;
  let loop: WorkLoop | undefined;
  let lookup: NodeJS.Timeout | undefined;
  const service = `${config.namespace}/${config.serviceName}`;

  /** Reads the Service's cluster IP until there is one, then provisions with it. */
  const provision = async (): Promise<void> => {
    let clusterIP: string | undefined;
    try {
      clusterIP = await client.serviceClusterIP(config.namespace, config.serviceName);
      if (!clusterIP) log.warn('the Service does not exist or has no cluster IP yet; provisioning waits for it', { service });
    } catch (error) {
      metrics.error('api');
      log.warn('cannot read the Service; provisioning waits for it', { service, error: errorMessage(error) });
    }
    if (stopping) return;
    if (!clusterIP) {
      lookup = setTimeout(startProvisioning, options.serviceRetryMs ?? 2000);
      return;
    }
    log.info('provisioning', { service, clusterIP });
    loop = workLoop({
      settings: config,
      client,
      log,
      metrics,
      events,
      reconciler: (caches) => new ServerProvisioner({
        identity: { provisionerName: config.provisionerName, server: clusterIP, exportPath: PSEUDO_ROOT },
        ...caches,
        api: client.volumeWriter(),
        store: volumes,
        events,
        metrics,
        log,
      }),
      resizeBackend: volumeResizeBackend(volumes),
      meter: (budgetMs) => config.quota === 'none' ? new DirectoryMeter(layout, budgetMs) : new StatvfsMeter((pv) => volumes.usage(pv)),
    });
    await loop.start();
  };
  const startProvisioning = () => {
    provision().catch((error) => log.error('provisioning could not start', { error: errorMessage(error) }));
  };
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
      startProvisioning();
    },
    stop: async () => {
      stopping = true;
      clearTimeout(poll);
      clearTimeout(lookup);
      // The loop first: running operations finish while their volumes can still be served.
      await loop?.stop();
      await supervisor.stop();
    },
    describeStopping: () => ({ inFlight: loop?.inFlight() ?? 0 }),
    describe: { provisioner: config.provisionerName, dataDir: config.dataDir, quota: config.quota, preallocate: config.preallocate, service },
  });
  return childExited ? 1 : code;
}


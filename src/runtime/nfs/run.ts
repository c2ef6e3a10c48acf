/**
 * Runs the `nfs` command: wires the informers, the queues, the reconcilers and leader
 * election together; core/run-command.ts serves the ops endpoints and shuts it down.
 *
 * Lifecycle: campaign for the Lease (if enabled) -> when leading, start the informers, wait
 * until all three caches have synced (the directory index must know every volume before
 * any claim is looked at), then queue every key (with the sweep of provisioning notes an
 * earlier run left, retried by the queue until it succeeds) and keep queueing on changes, and
 * start the usage passes. Losing the Lease stops the queues (running operations finish), the usage
 * passes and the informers, then campaigns again. SIGTERM does the same and then releases
 * the Lease and exits 0.
 *
 * Provisioning/deleting and resizing are separate reconcilers with separate queues: a slow
 * directory operation never holds up a resize, and a resize retry has its own backoff.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { NfsController, ReportedError } from './controller';
import { NfsConfig } from './flags';
import { NfsRootFs } from './fs';
import { NfsResizer, QuietRetry } from './resizer';
import { UsageMeter } from './usage';
import { UsageMonitor } from './usage-monitor';
import { ENV } from '../../contract/controller-config';
import { errorMessage, statusCode } from '../core/errors';
import { ConfigError } from '../core/flags';
import { Informer, InformerHandlers } from '../core/informer';
import { LeaderElector } from '../core/leader';
import { WorkQueue } from '../core/queue';
import { commandReporting, CommandRunOptions, runCommand } from '../core/run-command';
import type { Logger } from '../ops/log';
import type { KubeObject, ListWatchPort } from '../ports/list-watch';
import type { ClusterPorts } from '../ports/nfs-api';

export interface RunOptions extends CommandRunOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Connects to the API server; called after the local checks pass. */
  readonly connect: () => ClusterPorts;
}

/** Runs until the shutdown signal; resolves with the exit code. */
export async function runNfs(config: NfsConfig, log: Logger, options: RunOptions): Promise<number> {
  const env = options.env ?? process.env;
  try {
    await NfsRootFs.check(config.root);
  } catch (error) {
    throw new ConfigError(`--root: ${(error as Error).message}`);
  }
  const client = options.connect();
  const instance = env[ENV.podName] || (config.leaderElection.enabled ? config.leaderElection.identity : 'local');
  const { metrics, events } = commandReporting(client.eventPort(), { component: config.provisionerName, instance }, log);

  let active = false;
  const queue = new WorkQueue({
    concurrency: config.workers,
    handler: (key) => controller.handle(key),
    onFailure: (key, error, failures, retryInMs) => {
      // ReportedErrors were logged and put on the object already.
      if (!(error instanceof ReportedError)) {
        log.warn('reconcile failed', { key, error: errorMessage(error), status: statusCode(error), failures, retryInMs });
      }
    },
  });
  const resizeQueue = new WorkQueue({
    concurrency: config.workers,
    handler: (key) => resizer.handle(key),
    onFailure: (key, error, failures, retryInMs) => {
      if (error instanceof ReportedError) return;
      if (error instanceof QuietRetry) log.debug('resize retried', { key, reason: error.message, retryInMs });
      else log.warn('resize failed', { key, error: errorMessage(error), status: statusCode(error), failures, retryInMs });
    },
  });
  metrics.watchQueue(() => ({
    depth: queue.depth + resizeQueue.depth,
    inFlight: queue.inFlight + resizeQueue.inFlight,
    retrying: queue.retrying + resizeQueue.retrying,
  }));
  const enqueue = (key: string | undefined) => {
    if (key && active) queue.add(key);
  };
  const enqueueResize = (key: string | undefined) => {
    if (key && active) resizeQueue.add(key);
  };

  const informer = <T extends KubeObject>(resource: string, port: ListWatchPort<T>, handlers: InformerHandlers<T>) =>
    new Informer(resource, port, handlers, log, {
      relistIntervalMs: config.resyncSeconds * 1000,
      onRestart: (reason) => metrics.informerRestart(resource, reason),
      onError: () => metrics.error('informer'),
    });
  const claims = informer<V1PersistentVolumeClaim>('persistentvolumeclaims', client.claims(), {
    upsert: (c) => {
      enqueue(controller.claimChanged(c));
      enqueueResize(resizer.claimChanged(c));
    },
    remove: (c) => {
      enqueue(controller.claimRemoved(c));
      resizer.claimRemoved(c);
    },
  });
  const volumes = informer<V1PersistentVolume>('persistentvolumes', client.volumes(), {
    upsert: (pv) => enqueue(controller.volumeChanged(pv)),
    remove: (pv) => controller.volumeRemoved(pv),
  });
  const classes = informer<V1StorageClass>('storageclasses', client.storageClasses(), {
    upsert: (sc) => {
      controller.classChanged(sc).forEach(enqueue);
      resizer.classChanged(sc).forEach(enqueueResize);
    },
    remove: () => undefined,
  });
  const informers = [claims, volumes, classes];

  const controller: NfsController = new NfsController({
    identity: { provisionerName: config.provisionerName, server: config.server, exportPath: config.exportPath },
    root: config.root,
    claims,
    volumes,
    classes,
    api: client.volumeWriter(),
    fs: new NfsRootFs(config.root),
    events,
    metrics,
    log,
  });
  const patcher = client.claimPatcher();
  const resizer: NfsResizer = new NfsResizer({
    provisionerName: config.provisionerName,
    claims,
    volumes,
    classes,
    api: patcher,
    events,
    metrics,
    log: log.child({ reconciler: 'resize' }),
    requeueAfter: (key, ms) => resizeQueue.addAfter(key, ms),
  });
  const intervalMs = config.usageIntervalSeconds * 1000;
  const usage = intervalMs > 0 ? new UsageMonitor({
    provisionerName: config.provisionerName,
    claims,
    volumes,
    classes,
    // The walk may use most of the interval; a pass that needs longer measures the rest next time.
    meter: new UsageMeter(config.root, { budgetMs: Math.max(500, intervalMs * 0.8) }),
    api: patcher,
    events,
    metrics,
    log: log.child({ reconciler: 'usage' }),
    intervalMs,
  }) : undefined;

  // Leading is an epoch: a lead() still waiting for caches gives up when its epoch has ended.
  let epoch = 0;
  let leading = false;
  const lead = async () => {
    const mine = ++epoch;
    leading = true;
    metrics.setLeader(true);
    queue.start();
    resizeQueue.start();
    informers.forEach((i) => i.start());
    while (!informers.every((i) => i.hasSynced)) {
      if (epoch !== mine) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (epoch !== mine) return;
    active = true;
    const keys = controller.allKeys();
    const resizeKeys = resizer.allKeys();
    log.info('caches synced; working', {
      claims: claims.list().length, volumes: volumes.list().length, classes: classes.list().length, queued: keys.length, resizes: resizeKeys.length,
    });
    keys.forEach((k) => queue.add(k));
    resizeKeys.forEach((k) => resizeQueue.add(k));
    usage?.start();
  };
  const unlead = async () => {
    epoch++;
    leading = false;
    active = false;
    metrics.setLeader(false);
    resizer.stop();
    await Promise.all([queue.stop(), resizeQueue.stop(), usage?.stop()]);
    await Promise.all(informers.map((i) => i.stop()));
    log.info('stopped working', { inFlight: queue.inFlight + resizeQueue.inFlight });
  };

  const election = config.leaderElection;
  const elector = election.enabled
    ? new LeaderElector(election.identity, client.leasePort(election.namespace, election.leaseName), {
      onStartedLeading: () => void lead(),
      onStoppedLeading: unlead,
    }, log, {}, () => metrics.error('leader-election'))
    : undefined;

  return runCommand({
    shutdownSignal: options.shutdownSignal,
    onListening: options.onListening,
    log,
    metrics,
    events,
    httpPort: config.httpPort,
    failing: () => {
      const worst = informers.reduce((a, b) => (b.unhealthyForMs > a.unhealthyForMs ? b : a));
      return { forMs: worst.unhealthyForMs, what: `${worst.resource} list/watch` };
    },
    ready: () => {
      if (leading) {
        return active ? { ok: true, detail: 'leader, caches synced' } : { ok: false, detail: 'leader, waiting for caches to sync' };
      }
      if (elector) {
        return elector.inContact ? { ok: true, detail: 'standby' } : { ok: false, detail: 'cannot reach the Lease' };
      }
      return { ok: false, detail: 'starting' };
    },
    start: () => (elector ? elector.start() : void lead()),
    // Stops the work, then releases the Lease.
    stop: () => (elector ? elector.stop() : unlead()),
    describe: {
      provisioner: config.provisionerName,
      server: config.server,
      exportPath: config.exportPath,
      root: config.root,
      workers: config.workers,
      usageIntervalSeconds: config.usageIntervalSeconds,
      resyncSeconds: config.resyncSeconds,
      leaderElection: election.enabled ? { lease: `${election.namespace}/${election.leaseName}`, identity: election.identity } : false,
    },
    describeStopping: () => ({ inFlight: queue.inFlight + resizeQueue.inFlight }),
  });
}

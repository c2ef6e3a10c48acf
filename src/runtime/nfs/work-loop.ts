/**
 * The provisioning loop both NFS commands run (`nfs` in subdir mode, `nfs-server` for the
 * in-cluster server): the informers, the provision/delete and resize queues, the usage
 * passes, and Lease leader election around them. What differs is handed in: the reconciler
 * that carries out provisioning and deleting, the backend a resize grows first (if any),
 * and the meter of the usage passes.
 *
 * Lifecycle: campaign for the Lease (if enabled) -> when leading, start the informers, wait
 * until all three caches have synced (a reconciler must know every volume before any claim
 * is looked at), then queue every key and keep queueing on changes, and start the usage
 * passes. Losing the Lease stops the queues (running operations finish), the usage passes
 * and the informers, then campaigns again. Stopping does the same and releases the Lease.
 *
 * Provisioning/deleting and resizing are separate queues: a slow volume operation never
 * holds up a resize, and a resize retry has its own backoff.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { ReportedError } from './controller';
import type { ProvisionerSettings } from './flags';
import { NfsResizer, QuietRetry, ResizeBackend } from './resizer';
import { UsageMonitor, VolumeMeter } from './usage-monitor';
import { errorMessage, statusCode } from '../core/errors';
import { Informer, InformerHandlers } from '../core/informer';
import { LeaderElector } from '../core/leader';
import { WorkQueue } from '../core/queue';
import type { CommandReporting, Failing } from '../core/run-command';
import type { Check } from '../ops/http';
import type { Logger } from '../ops/log';
import type { KubeObject, ListWatchPort } from '../ports/list-watch';
import type { ClusterPorts, Lookup } from '../ports/nfs-api';

/** The provision/delete reconciler: informer hooks saying which keys to queue, and the handler. */
export interface VolumeReconciler {
  claimChanged(claim: V1PersistentVolumeClaim): string | undefined;
  claimRemoved?(claim: V1PersistentVolumeClaim): string | undefined;
  volumeChanged(pv: V1PersistentVolume): string | undefined;
  volumeRemoved?(pv: V1PersistentVolume): void;
  classChanged(sc: V1StorageClass): string[];
  allKeys(): string[];
  handle(key: string): Promise<void>;
}

/** The informers' caches, which the reconcilers read. */
export interface Caches {
  readonly claims: Lookup<V1PersistentVolumeClaim>;
  readonly volumes: Lookup<V1PersistentVolume>;
  readonly classes: Lookup<V1StorageClass>;
}

export interface WorkLoopOptions extends CommandReporting {
  readonly settings: ProvisionerSettings & { readonly provisionerName: string };
  readonly client: ClusterPorts;
  readonly log: Logger;
  /** Makes the provision/delete reconciler over the caches. */
  readonly reconciler: (caches: Caches) => VolumeReconciler;
  /** Grown before the PV and the claim on a resize (none: the PV is the record). */
  readonly resizeBackend?: ResizeBackend;
  /** The meter of the usage passes; `budgetMs` is the time one pass may take. */
  readonly meter: (budgetMs: number) => VolumeMeter;
}

/** The loop as runCommand drives it. */
export interface WorkLoop {
  start(): void | Promise<void>;
  stop(): Promise<void>;
  ready(): Check;
  failing(): Failing;
  inFlight(): number;
}

export function workLoop(options: WorkLoopOptions): WorkLoop {
  const { settings, client, log, metrics, events } = options;
  let active = false;
  const queue = new WorkQueue({
    concurrency: settings.workers,
    handler: (key) => reconciler.handle(key),
    onFailure: (key, error, failures, retryInMs) => {
      // ReportedErrors were logged and put on the object already.
      if (!(error instanceof ReportedError)) {
        log.warn('reconcile failed', { key, error: errorMessage(error), status: statusCode(error), failures, retryInMs });
      }
    },
  });
  const resizeQueue = new WorkQueue({
    concurrency: settings.workers,
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
      onRestart: (reason) => metrics.informerRestart(resource, reason),
      onError: () => metrics.error('informer'),
    });
  const claims = informer<V1PersistentVolumeClaim>('persistentvolumeclaims', client.claims(), {
    upsert: (c) => {
      enqueue(reconciler.claimChanged(c));
      enqueueResize(resizer.claimChanged(c));
    },
    remove: (c) => {
      enqueue(reconciler.claimRemoved?.(c));
      resizer.claimRemoved(c);
    },
  });
  const volumes = informer<V1PersistentVolume>('persistentvolumes', client.volumes(), {
    upsert: (pv) => enqueue(reconciler.volumeChanged(pv)),
    remove: (pv) => reconciler.volumeRemoved?.(pv),
  });
  const classes = informer<V1StorageClass>('storageclasses', client.storageClasses(), {
    upsert: (sc) => {
      reconciler.classChanged(sc).forEach(enqueue);
      resizer.classChanged(sc).forEach(enqueueResize);
    },
    remove: () => undefined,
  });
  const informers = [claims, volumes, classes];

  const reconciler = options.reconciler({ claims, volumes, classes });
  const patcher = client.claimPatcher();
  const resizer: NfsResizer = new NfsResizer({
    provisionerName: settings.provisionerName,
    claims,
    volumes,
    classes,
    api: patcher,
    events,
    metrics,
    log: log.child({ reconciler: 'resize' }),
    requeueAfter: (key, ms) => resizeQueue.addAfter(key, ms),
    backend: options.resizeBackend,
  });
  const intervalMs = settings.usageIntervalSeconds * 1000;
  const usage = intervalMs > 0 ? new UsageMonitor({
    provisionerName: settings.provisionerName,
    claims,
    volumes,
    classes,
    // A pass may use most of the interval; a pass that needs longer measures the rest next time.
    meter: options.meter(Math.max(500, intervalMs * 0.8)),
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
    const keys = reconciler.allKeys();
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

  const election = settings.leaderElection;
  const elector = election.enabled
    ? new LeaderElector(election.identity, client.leasePort(election.namespace, election.leaseName), {
      onStartedLeading: () => void lead(),
      onStoppedLeading: unlead,
    }, log, {}, () => metrics.error('leader-election'))
    : undefined;

  return {
    start: () => (elector ? elector.start() : void lead()),
    // Stops the work, then releases the Lease.
    stop: () => (elector ? elector.stop() : unlead()),
    ready: () => {
      if (leading) {
        return active ? { ok: true, detail: 'leader, caches synced' } : { ok: false, detail: 'leader, waiting for caches to sync' };
      }
      if (elector) {
        return elector.inContact ? { ok: true, detail: 'standby' } : { ok: false, detail: 'cannot reach the Lease' };
      }
      return { ok: false, detail: 'starting' };
    },
    failing: () => {
      const worst = informers.reduce((a, b) => (b.unhealthyForMs > a.unhealthyForMs ? b : a));
      return { forMs: worst.unhealthyForMs, what: `${worst.resource} list/watch` };
    },
    inFlight: () => queue.inFlight + resizeQueue.inFlight,
  };
}

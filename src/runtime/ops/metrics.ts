/**
 * Prometheus metrics. One registry per controller (tests make their own), served at
 * /metrics. Names start with `cdk8s_storage_`.
 *
 * A volume's series carry the labels kubelet's `kubelet_volume_stats_*` and
 * kube-state-metrics use (`namespace`, `persistentvolumeclaim`, `persistentvolume`), so they
 * join with those without relabelling. `namespace` is the claim's: scrape with honor_labels
 * (the ServiceMonitor and PodMonitor the constructs write set `honorLabels: true`), or the
 * target's `namespace` label (the controller's own) replaces it.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Volume operations, counted and timed by kind and result. */
export type OperationKind = 'provision' | 'delete' | 'resize';
export type OperationResult = 'succeeded' | 'failed';

/** Sources of errors counted in `cdk8s_storage_errors_total`. */
export type ErrorSource = 'informer' | 'leader-election' | 'events' | 'api' | 'filesystem';

/** Labels of a volume's series, named as kubelet and kube-state-metrics name them. */
type VolumeLabel = 'persistentvolume' | 'namespace' | 'persistentvolumeclaim';

export interface QueueStats {
  readonly depth: number;
  readonly inFlight: number;
  readonly retrying: number;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly operations: Counter<'kind' | 'result'>;
  private readonly durations: Histogram<'kind' | 'result'>;
  private readonly errors: Counter<'source'>;
  private readonly informerRestarts: Counter<'resource' | 'reason'>;
  private readonly leader: Gauge;
  private readonly usedBytes: Gauge<VolumeLabel>;
  private readonly usageLabels = new Map<string, Record<VolumeLabel, string>>();
  private readonly usagePassSeconds: Gauge;
  private readonly usagePartial: Gauge;
  private queueStats?: () => QueueStats;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.operations = new Counter({
      name: 'cdk8s_storage_operations_total',
      help: 'Volume operations finished, by kind (provision, delete, resize) and result (succeeded, failed).',
      labelNames: ['kind', 'result'],
      registers,
    });
    this.durations = new Histogram({
      name: 'cdk8s_storage_operation_duration_seconds',
      help: 'Time from picking up a volume operation to its result.',
      labelNames: ['kind', 'result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.errors = new Counter({
      name: 'cdk8s_storage_errors_total',
      help: 'Errors by source (informer, leader-election, events, api, filesystem).',
      labelNames: ['source'],
      registers,
    });
    this.informerRestarts = new Counter({
      name: 'cdk8s_storage_informer_restarts_total',
      help: 'Informer relists by resource and reason (error, stalled, expired, periodic).',
      labelNames: ['resource', 'reason'],
      registers,
    });
    this.leader = new Gauge({
      name: 'cdk8s_storage_leader',
      help: '1 while this process holds the leader Lease (or runs without election), else 0.',
      registers,
    });
    this.usedBytes = new Gauge({
      name: 'cdk8s_storage_volume_used_bytes',
      help: 'Bytes used in each volume at its last measurement (a lower bound when the walk ran out of time).',
      labelNames: ['persistentvolume', 'namespace', 'persistentvolumeclaim'],
      registers,
    });
    this.usagePassSeconds = new Gauge({
      name: 'cdk8s_storage_usage_pass_seconds',
      help: 'Duration of the last pass measuring the volumes\' used bytes.',
      registers,
    });
    this.usagePartial = new Gauge({
      name: 'cdk8s_storage_usage_partial_volumes',
      help: 'Volumes the last usage pass could not measure completely within its time budget.',
      registers,
    });
    const stats = () => this.queueStats?.() ?? { depth: 0, inFlight: 0, retrying: 0 };
    new Gauge({
      name: 'cdk8s_storage_queue_depth',
      help: 'Objects waiting for a worker.',
      registers,
      collect() { this.set(stats().depth); },
    });
    new Gauge({
      name: 'cdk8s_storage_queue_in_flight',
      help: 'Objects being worked on now.',
      registers,
      collect() { this.set(stats().inFlight); },
    });
    new Gauge({
      name: 'cdk8s_storage_queue_retrying',
      help: 'Objects waiting for a retry after a failure.',
      registers,
      collect() { this.set(stats().retrying); },
    });
  }

  /** Connects the queue gauges to a queue. */
  watchQueue(stats: () => QueueStats): void {
    this.queueStats = stats;
  }

  operation(kind: OperationKind, result: OperationResult, seconds: number): void {
    this.operations.inc({ kind, result });
    this.durations.observe({ kind, result }, seconds);
  }

  error(source: ErrorSource): void {
    this.errors.inc({ source });
  }

  informerRestart(resource: string, reason: string): void {
    this.informerRestarts.inc({ resource, reason });
  }

  setLeader(leading: boolean): void {
    this.leader.set(leading ? 1 : 0);
  }

  /** Sets a volume's used bytes (and moves the series if its claim changed). */
  volumeUsage(volume: string, namespace: string, claim: string, bytes: bigint): void {
    const labels = { persistentvolume: volume, namespace, persistentvolumeclaim: claim };
    const previous = this.usageLabels.get(volume);
    if (previous && (previous.namespace !== namespace || previous.persistentvolumeclaim !== claim)) this.usedBytes.remove(previous);
    this.usageLabels.set(volume, labels);
    // Gauges are floats: exact up to 8 PiB, which is as exact as a scrape needs.
    this.usedBytes.set(labels, Number(bytes));
  }

  /** Drops the series of a volume that is gone. */
  forgetVolumeUsage(volume: string): void {
    const labels = this.usageLabels.get(volume);
    if (!labels) return;
    this.usedBytes.remove(labels);
    this.usageLabels.delete(volume);
  }

  /** Volumes with a usage series. */
  get measuredVolumes(): string[] {
    return [...this.usageLabels.keys()];
  }

  usagePass(seconds: number, partialVolumes: number): void {
    this.usagePassSeconds.set(seconds);
    this.usagePartial.set(partialVolumes);
  }
}

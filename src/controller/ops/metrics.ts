/**
 * Prometheus metrics. One registry per controller (tests make their own), served at
 * /metrics. Names start with `cdk8s_storage_`.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Volume operations, counted and timed by kind and result. */
export type OperationKind = 'provision' | 'delete';
export type OperationResult = 'succeeded' | 'failed';

/** Sources of errors counted in `cdk8s_storage_errors_total`. */
export type ErrorSource = 'informer' | 'leader-election' | 'events' | 'api' | 'filesystem';

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
  private queueStats?: () => QueueStats;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.operations = new Counter({
      name: 'cdk8s_storage_operations_total',
      help: 'Volume operations finished, by kind (provision, delete) and result (succeeded, failed).',
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
}

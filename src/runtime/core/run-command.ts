/**
 * What every command of the runtime does the same way, written once: its metrics and event
 * recorder, the ops server (/healthz, /readyz, /metrics), the process signals, and the
 * shutdown order (stop the work, send the queued events, close the ops server).
 *
 * A command builds its own work on the metrics and events of {@link commandReporting} and
 * hands {@link runCommand} how to start and stop it and how to tell whether it is ready.
 */
import { EventRecorder } from './events';
import { Check, OpsServer } from '../ops/http';
import type { Logger } from '../ops/log';
import { Metrics } from '../ops/metrics';
import type { EventPort } from '../ports/events';

/** Failing this long makes /healthz fail, so the kubelet restarts a wedged process. */
export const UNHEALTHY_AFTER_MS = 5 * 60_000;
/** How long shutdown waits for queued events to be sent. */
export const EVENT_FLUSH_MS = 5_000;

/** How a command runs (the part of its options the entry point and the tests supply). */
export interface CommandRunOptions {
  /** Resolves when the process should shut down ({@link processSignals} in production). */
  readonly shutdownSignal: Promise<string>;
  /** Called once the ops server listens, with its port. */
  readonly onListening?: (port: number) => void;
}

/** The metrics and the Kubernetes Events a command reports through. */
export interface CommandReporting {
  readonly metrics: Metrics;
  readonly events: EventRecorder;
}

/** What is failing and for how long (0 ms when nothing is). */
export interface Failing {
  readonly forMs: number;
  /** What fails, e.g. "persistentvolumes list/watch". */
  readonly what: string;
  /** The last error, when it says more than `what`. */
  readonly error?: string;
}

export interface Command extends CommandRunOptions, CommandReporting {
  readonly log: Logger;
  /** The ops server's port (0: any free port). */
  readonly httpPort: number;
  /** Liveness: /healthz fails once this has been failing for {@link UNHEALTHY_AFTER_MS}. */
  readonly failing: () => Failing;
  /** Readiness (/readyz). */
  readonly ready: () => Check;
  /** Starts the work, once the ops server listens. */
  readonly start: () => void | Promise<void>;
  /** Stops the work on shutdown (running operations finish). */
  readonly stop: () => Promise<void>;
  /** Fields of the "started" log line. */
  readonly describe?: Record<string, unknown>;
  /** Fields of the "shutting down" log line (what is still running). */
  readonly describeStopping?: () => Record<string, unknown>;
}

/** A command's metrics (with the process defaults) and its event recorder, counting failed sends. */
export function commandReporting(port: EventPort, source: { readonly component: string; readonly instance: string }, log: Logger): CommandReporting {
  const metrics = new Metrics({ defaultMetrics: true });
  const events = new EventRecorder(port, { ...source, onError: () => metrics.error('events') }, log);
  return { metrics, events };
}

/** Runs a command until the shutdown signal; resolves with the exit code. */
export async function runCommand(command: Command): Promise<number> {
  const { log } = command;
  const server = new OpsServer({
    port: command.httpPort,
    registry: command.metrics.registry,
    healthy: () => liveness(command.failing()),
    ready: command.ready,
  });
  const httpPort = await server.start();
  command.onListening?.(httpPort);
  log.info('started', { ...command.describe, httpPort });
  await command.start();

  const signal = await command.shutdownSignal;
  log.info('shutting down', { signal, ...command.describeStopping?.() });
  await command.stop();
  await Promise.race([command.events.flush(), new Promise((resolve) => setTimeout(resolve, EVENT_FLUSH_MS).unref())]);
  await server.stop();
  log.info('stopped');
  return 0;
}

/** Resolves with the first SIGTERM or SIGINT. */
export function processSignals(): Promise<string> {
  return new Promise((resolve) => {
    // Node as PID 1 ignores SIGTERM unless a handler is installed.
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => resolve(signal));
  });
}

function liveness(failing: Failing): Check {
  if (failing.forMs <= UNHEALTHY_AFTER_MS) return { ok: true, detail: 'alive' };
  const error = failing.error === undefined ? '' : `: ${failing.error}`;
  return { ok: false, detail: `${failing.what} failing for ${Math.round(failing.forMs / 1000)} s${error}` };
}

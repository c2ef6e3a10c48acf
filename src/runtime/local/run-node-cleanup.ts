/**
 * Runs `local --node-cleanup`: the opt-in, cluster-wide node-deletion role (one replica).
 * It compares the agents' PVs with the Node list at start and then periodically; node
 * deletions are rare and nothing is lost by noticing one within the period. Running two
 * copies briefly (a rolling update) is harmless: deletes carry uid and resourceVersion
 * preconditions, so a PV is only ever removed as it was seen.
 */
import type { NodeCleanupCommandConfig } from './flags';
import { NodeCleanupRole } from './node-cleanup';
import { LOCAL_AGENT_COMPONENT } from './run';
import { EventRecorder } from '../core/events';
import { OpsServer } from '../ops/http';
import type { Logger } from '../ops/log';
import { Metrics } from '../ops/metrics';
import type { LocalClusterPorts, NodeCleanupPort } from '../ports/local';

/** How often the PVs are compared with the Node list. */
export const NODE_CLEANUP_PERIOD_MS = 30_000;
/** Failing this long makes /healthz fail, so the kubelet restarts a wedged process. */
const UNHEALTHY_AFTER_MS = 5 * 60_000;
const EVENT_FLUSH_MS = 5_000;

export interface NodeCleanupRunOptions {
  readonly shutdownSignal: Promise<string>;
  readonly connect: () => LocalClusterPorts;
  readonly onListening?: (port: number) => void;
  /** Default {@link NODE_CLEANUP_PERIOD_MS}. */
  readonly periodMs?: number;
  /** Told after every round (tests). */
  readonly onRound?: (result: { deleted: string[]; reported: string[] } | Error) => void;
}

/** Runs until the shutdown signal; resolves with the exit code. */
export async function runNodeCleanup(config: NodeCleanupCommandConfig, log: Logger, options: NodeCleanupRunOptions): Promise<number> {
  const cluster = options.connect();
  const metrics = new Metrics({ defaultMetrics: true });
  const events = new EventRecorder(cluster.eventPort(), {
    component: LOCAL_AGENT_COMPONENT,
    instance: config.instance,
    onError: () => metrics.error('events'),
  }, log);
  const api = cluster.localApi(log, {});
  const port: NodeCleanupPort = {
    listPVs: (selector) => api.listPVs(selector),
    getPV: (name) => api.getPV(name),
    deletePV: (name, preconditions) => api.deletePV(name, preconditions),
    listNodeNames: () => api.listNodeNames(),
    event: async (ref, type, reason, message) => events.emit({ apiVersion: 'v1', kind: ref.kind, name: ref.name, uid: ref.uid }, type, reason, message),
  };
  const role = new NodeCleanupRole(port, log);

  let lastOk: Date | undefined;
  let lastError: string | undefined;
  let failingSince: number | undefined;
  const server = new OpsServer({
    port: config.httpPort,
    registry: metrics.registry,
    healthy: () => failingSince !== undefined && Date.now() - failingSince > UNHEALTHY_AFTER_MS
      ? { ok: false, detail: `failing for ${Math.round((Date.now() - failingSince) / 1000)} s: ${lastError}` }
      : { ok: true, detail: 'alive' },
    ready: () => lastError === undefined && lastOk !== undefined
      ? { ok: true, detail: `last run ${lastOk.toISOString()}` }
      : { ok: false, detail: lastError ?? 'first run not done yet' },
  });
  const httpPort = await server.start();
  options.onListening?.(httpPort);
  log.info('started', { role: 'node-cleanup', httpPort, periodSeconds: (options.periodMs ?? NODE_CLEANUP_PERIOD_MS) / 1000 });

  let signal: string | undefined;
  const stopped = options.shutdownSignal.then((s) => { signal = s; });
  while (signal === undefined) {
    const started = Date.now();
    try {
      const result = await role.runOnce();
      result.deleted.forEach(() => metrics.operation('delete', 'succeeded', (Date.now() - started) / 1000));
      lastOk = new Date();
      lastError = undefined;
      failingSince = undefined;
      options.onRound?.(result);
    } catch (error) {
      metrics.error('api');
      lastError = (error as Error).message;
      failingSince ??= Date.now();
      log.error(`node-deletion round failed: ${lastError}`);
      options.onRound?.(error as Error);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([stopped, new Promise((resolve) => { timer = setTimeout(resolve, options.periodMs ?? NODE_CLEANUP_PERIOD_MS); })]);
    clearTimeout(timer);
  }

  log.info('shutting down', { signal });
  await api.stop();
  await Promise.race([events.flush(), new Promise((resolve) => setTimeout(resolve, EVENT_FLUSH_MS).unref())]);
  await server.stop();
  log.info('stopped');
  return 0;
}

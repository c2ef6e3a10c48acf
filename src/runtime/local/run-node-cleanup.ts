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
import { commandReporting, CommandRunOptions, runCommand } from '../core/run-command';
import type { Logger } from '../ops/log';
import type { LocalClusterPorts, NodeCleanupPort } from '../ports/local';

/** How often the PVs are compared with the Node list. */
export const NODE_CLEANUP_PERIOD_MS = 30_000;
export interface NodeCleanupRunOptions extends CommandRunOptions {
  readonly connect: () => LocalClusterPorts;
  /** Default {@link NODE_CLEANUP_PERIOD_MS}. */
  readonly periodMs?: number;
  /** Told after every round (tests). */
  readonly onRound?: (result: { deleted: string[]; reported: string[] } | Error) => void;
}

/** Runs until the shutdown signal; resolves with the exit code. */
export async function runNodeCleanup(config: NodeCleanupCommandConfig, log: Logger, options: NodeCleanupRunOptions): Promise<number> {
  const cluster = options.connect();
  const { metrics, events } = commandReporting(cluster.eventPort(), { component: LOCAL_AGENT_COMPONENT, instance: config.instance }, log);
  const api = cluster.localApi(log, {});
  const port: NodeCleanupPort = {
    listPVs: (selector) => api.listPVs(selector),
    getPV: (name) => api.getPV(name),
    deletePV: (name, preconditions) => api.deletePV(name, preconditions),
    listNodeNames: () => api.listNodeNames(),
    event: async (ref, type, reason, message) => events.emit({ apiVersion: 'v1', kind: ref.kind, name: ref.name, uid: ref.uid }, type, reason, message),
  };
  const role = new NodeCleanupRole(port, log);

  const periodMs = options.periodMs ?? NODE_CLEANUP_PERIOD_MS;
  let lastOk: Date | undefined;
  let lastError: string | undefined;
  let failingSince: number | undefined;
  const round = async () => {
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
  };

  // Rounds until stopped: stopping lets the running round finish and cuts the wait for the next.
  let stopping = false;
  let wake = (): void => undefined;
  let rounds: Promise<void> = Promise.resolve();
  const loop = async () => {
    while (!stopping) {
      await round();
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, periodMs);
        if (stopping) resolve();
      });
      clearTimeout(timer);
    }
  };

  return runCommand({
    shutdownSignal: options.shutdownSignal,
    onListening: options.onListening,
    log,
    metrics,
    events,
    httpPort: config.httpPort,
    failing: () => ({ forMs: failingSince === undefined ? 0 : Date.now() - failingSince, what: 'node-deletion round', error: lastError }),
    ready: () => lastError === undefined && lastOk !== undefined
      ? { ok: true, detail: `last run ${lastOk.toISOString()}` }
      : { ok: false, detail: lastError ?? 'first run not done yet' },
    start: () => {
      rounds = loop();
    },
    stop: async () => {
      stopping = true;
      wake();
      await rounds;
      await api.stop();
    },
    describe: { role: 'node-cleanup', periodSeconds: periodMs / 1000 },
  });
}

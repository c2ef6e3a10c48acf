/**
 * Runs the `local` command: the node agent for this node, with its ops server and signal
 * handling. Every node runs its own agent and there is no leader: each agent only ever
 * touches the PVs its node published.
 */
import { LocalAgent } from './agent';
import { loadLocalAgentConfig, LocalConfigError } from './class-map';
import { LocalCommandConfig } from './flags';
import { EventRecorder } from '../core/events';
import { ConfigError } from '../core/flags';
import { OpsServer } from '../ops/http';
import type { Logger } from '../ops/log';
import { Metrics } from '../ops/metrics';
import type { LocalClusterPorts, LocalKubePort } from '../ports/local';

/** The PV informer failing this long makes /healthz fail, so the kubelet restarts a wedged agent. */
const UNHEALTHY_AFTER_MS = 5 * 60_000;
/** How long shutdown waits for queued events to be sent. */
const EVENT_FLUSH_MS = 5_000;
/** `source.component` of the agent's events. */
export const LOCAL_AGENT_COMPONENT = 'cdk8s-storage-local-agent';

export interface LocalRunOptions {
  /** Resolves when the process should shut down (SIGTERM/SIGINT in production). */
  readonly shutdownSignal: Promise<string>;
  /** Connects to the API server; called after the class map loaded. */
  readonly connect: () => LocalClusterPorts;
  /** Called once the HTTP server listens, with its port. */
  readonly onListening?: (port: number) => void;
}

/** Runs until the shutdown signal; resolves with the exit code. */
export async function runLocal(config: LocalCommandConfig, log: Logger, options: LocalRunOptions): Promise<number> {
  let classes;
  try {
    classes = await loadLocalAgentConfig(config.configPath);
  } catch (error) {
    if (error instanceof LocalConfigError) throw new ConfigError(error.message);
    throw error;
  }
  const cluster = options.connect();
  const metrics = new Metrics({ defaultMetrics: true });
  const events = new EventRecorder(cluster.eventPort(), {
    component: LOCAL_AGENT_COMPONENT,
    instance: config.instance,
    onError: () => metrics.error('events'),
  }, log);
  const api = cluster.localApi(log, {
    onRestart: (reason) => metrics.informerRestart('persistentvolumes', reason),
    onError: () => metrics.error('informer'),
  });
  const port: LocalKubePort = {
    getNode: (name) => api.getNode(name),
    listPVs: (selector) => api.listPVs(selector),
    getPV: (name) => api.getPV(name),
    createPV: (pv) => api.createPV(pv),
    deletePV: (name, preconditions) => api.deletePV(name, preconditions),
    watchPVs: (selector, onChange) => api.watchPVs(selector, onChange),
    event: async (ref, type, reason, message) => events.emit({ apiVersion: 'v1', kind: ref.kind, name: ref.name, uid: ref.uid }, type, reason, message),
  };
  const agent = new LocalAgent({
    nodeName: config.nodeName,
    config: classes,
    port,
    log,
    onOperation: (kind, ok, seconds) => metrics.operation(kind === 'publish' ? 'provision' : 'delete', ok ? 'succeeded' : 'failed', seconds),
  });

  const server = new OpsServer({
    port: config.httpPort,
    registry: metrics.registry,
    healthy: () => api.unhealthyForMs > UNHEALTHY_AFTER_MS
      ? { ok: false, detail: `PV list/watch failing for ${Math.round(api.unhealthyForMs / 1000)} s` }
      : { ok: true, detail: 'alive' },
    ready: () => {
      const status = agent.status();
      if (status.ready) return { ok: true, detail: `last pass ${status.lastPassAt?.toISOString()}` };
      return { ok: false, detail: status.lastError ?? 'first discovery pass not done yet' };
    },
  });
  const httpPort = await server.start();
  options.onListening?.(httpPort);
  log.info('started', { node: config.nodeName, classes: classes.classes.map((c) => c.storageClassName), httpPort });
  await agent.start();

  const signal = await options.shutdownSignal;
  log.info('shutting down', { signal, wiping: agent.status().cleaning });
  await agent.stop();
  await api.stop();
  await Promise.race([events.flush(), new Promise((resolve) => setTimeout(resolve, EVENT_FLUSH_MS).unref())]);
  await server.stop();
  log.info('stopped');
  return 0;
}

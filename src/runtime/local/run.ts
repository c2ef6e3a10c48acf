/**
 * Runs the `local` command: the node agent for this node (core/run-command.ts serves the
 * ops endpoints and shuts it down). Every node runs its own agent and there is no leader: each agent only ever
 * touches the PVs its node published.
 */
import { LocalAgent } from './agent';
import { loadLocalAgentConfig, LocalConfigError } from './class-map';
import { LocalCommandConfig } from './flags';
import { ConfigError } from '../core/flags';
import { commandReporting, CommandRunOptions, runCommand } from '../core/run-command';
import type { Logger } from '../ops/log';
import type { LocalClusterPorts, LocalKubePort } from '../ports/local';

/** `source.component` of the agent's events. */
export const LOCAL_AGENT_COMPONENT = 'cdk8s-storage-local-agent';

export interface LocalRunOptions extends CommandRunOptions {
  /** Connects to the API server; called after the class map loaded. */
  readonly connect: () => LocalClusterPorts;
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
  const { metrics, events } = commandReporting(cluster.eventPort(), { component: LOCAL_AGENT_COMPONENT, instance: config.instance }, log);
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

  return runCommand({
    shutdownSignal: options.shutdownSignal,
    onListening: options.onListening,
    log,
    metrics,
    events,
    httpPort: config.httpPort,
    failing: () => ({ forMs: api.unhealthyForMs, what: 'PV list/watch' }),
    ready: () => {
      const status = agent.status();
      if (status.ready) return { ok: true, detail: `last pass ${status.lastPassAt?.toISOString()}` };
      return { ok: false, detail: status.lastError ?? 'first discovery pass not done yet' };
    },
    start: () => agent.start(),
    stop: async () => {
      await agent.stop();
      await api.stop();
    },
    describe: { node: config.nodeName, classes: classes.classes.map((c) => c.storageClassName) },
    describeStopping: () => ({ wiping: agent.status().cleaning }),
  });
}

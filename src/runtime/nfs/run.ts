/**
 * Runs the `nfs` command (subdir mode): the provisioning loop (work-loop.ts) with the
 * directory reconciler and the directory-walking usage meter; core/run-command.ts serves the
 * ops endpoints and shuts it down (SIGTERM stops the work, releases the Lease, exits 0).
 */
import { NfsController } from './controller';
import { NfsConfig } from './flags';
import { NfsRootFs } from './fs';
import { UsageMeter } from './usage';
import { workLoop } from './work-loop';
import { ENV } from '../../contract/controller-config';
import { ConfigError } from '../core/flags';
import { commandReporting, CommandRunOptions, runCommand } from '../core/run-command';
import type { Logger } from '../ops/log';
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
  const loop = workLoop({
    settings: config,
    client,
    log,
    metrics,
    events,
    reconciler: (caches) => new NfsController({
      identity: { provisionerName: config.provisionerName, server: config.server, exportPath: config.exportPath },
      root: config.root,
      ...caches,
      api: client.volumeWriter(),
      fs: new NfsRootFs(config.root),
      events,
      metrics,
      log,
    }),
    meter: (budgetMs) => new UsageMeter(config.root, { budgetMs }),
  });
  const election = config.leaderElection;

  return runCommand({
    shutdownSignal: options.shutdownSignal,
    onListening: options.onListening,
    log,
    metrics,
    events,
    httpPort: config.httpPort,
    failing: loop.failing,
    ready: loop.ready,
    start: loop.start,
    stop: loop.stop,
    describe: {
      provisioner: config.provisionerName,
      server: config.server,
      exportPath: config.exportPath,
      root: config.root,
      workers: config.workers,
      usageIntervalSeconds: config.usageIntervalSeconds,
      leaderElection: election.enabled ? { lease: `${election.namespace}/${election.leaseName}`, identity: election.identity } : false,
    },
    describeStopping: () => ({ inFlight: loop.inFlight() }),
  });
}

/**
 * The `local` command's configuration: exactly the flags and environment the
 * LocalStaticProvisioner construct writes into its DaemonSet (and, with --node-cleanup, into
 * its node-deletion Deployment), plus `--kubeconfig` for running outside a cluster. The
 * flags themselves are specified in src/contract/flags.ts.
 */
import { DEFAULT_HTTP_PORT, ENV, LOCAL_FLAGS } from '../../contract/controller-config';
import { KUBECONFIG_FLAG, LOCAL_FLAG_SPECS } from '../../contract/flags';
import { LogLevelValue } from '../../contract/values';
import { ConfigError, FlagValue, logLevelOf, parseFlags } from '../core/flags';

export interface LocalCommandConfig {
  /** Path of the class map. */
  readonly configPath: string;
  readonly httpPort: number;
  /** The node this agent serves (from the downward API). */
  readonly nodeName: string;
  /** Event source instance (the pod name), defaulting to the node name. */
  readonly instance: string;
  /** Lowest level of the log lines written. @default info */
  readonly logLevel?: LogLevelValue;
  readonly kubeconfig?: string;
}

/** Configuration of the node-deletion role (`local --node-cleanup`). */
export interface NodeCleanupCommandConfig {
  readonly httpPort: number;
  /** Event source instance (the pod name). */
  readonly instance: string;
  /** Lowest level of the log lines written. @default info */
  readonly logLevel?: LogLevelValue;
  readonly kubeconfig?: string;
}

/** What a `local` invocation asks for: a node agent, or the node-deletion role. */
export type LocalInvocation =
  | { readonly mode: 'agent'; readonly config: LocalCommandConfig }
  | { readonly mode: 'node-cleanup'; readonly config: NodeCleanupCommandConfig };

/** Parses the `local` command's arguments in either mode. */
export function parseLocalInvocation(args: readonly string[], env: Readonly<Record<string, string | undefined>>): LocalInvocation {
  const flags = parseFlags(args, LOCAL_FLAG_SPECS);
  if (flags.get(LOCAL_FLAGS.nodeCleanup) === true) {
    return { mode: 'node-cleanup', config: nodeCleanupConfig(flags, env) };
  }
  return { mode: 'agent', config: agentConfig(flags, env) };
}

/** Parses the arguments of the node agent; `env` supplies NODE_NAME and POD_NAME. */
export function parseLocalCommand(args: readonly string[], env: Readonly<Record<string, string | undefined>>): LocalCommandConfig {
  const invocation = parseLocalInvocation(args, env);
  if (invocation.mode !== 'agent') {
    throw new ConfigError(`--${LOCAL_FLAGS.nodeCleanup} starts the node-deletion role, not a node agent`);
  }
  return invocation.config;
}

function httpPortOf(flags: Map<string, FlagValue>): number {
  const httpPort = (flags.get(LOCAL_FLAGS.httpPort) as number | undefined) ?? DEFAULT_HTTP_PORT;
  if (httpPort < 0 || httpPort > 65535) {
    throw new ConfigError(`--${LOCAL_FLAGS.httpPort}=${httpPort} is not a port: use 0-65535`);
  }
  return httpPort;
}

function kubeconfigOf(flags: Map<string, FlagValue>): { kubeconfig?: string } {
  const kubeconfig = flags.get(KUBECONFIG_FLAG) as string | undefined;
  return kubeconfig !== undefined ? { kubeconfig } : {};
}

function agentConfig(flags: Map<string, FlagValue>, env: Readonly<Record<string, string | undefined>>): LocalCommandConfig {
  const configPath = flags.get(LOCAL_FLAGS.config) as string | undefined;
  if (configPath === undefined) {
    throw new ConfigError(`missing required flag --${LOCAL_FLAGS.config} (${LOCAL_FLAG_SPECS[LOCAL_FLAGS.config].help})`);
  }
  const httpPort = httpPortOf(flags);
  const nodeName = env[ENV.nodeName];
  if (!nodeName) {
    throw new ConfigError(`the ${ENV.nodeName} environment variable is not set: the agent must know its node (fieldRef spec.nodeName)`);
  }
  return {
    configPath,
    httpPort,
    nodeName,
    instance: env[ENV.podName] || nodeName,
    logLevel: logLevelOf(flags, LOCAL_FLAGS.logLevel),
    ...kubeconfigOf(flags),
  };
}

function nodeCleanupConfig(flags: Map<string, FlagValue>, env: Readonly<Record<string, string | undefined>>): NodeCleanupCommandConfig {
  return {
    httpPort: httpPortOf(flags),
    instance: env[ENV.podName] || 'node-cleanup',
    logLevel: logLevelOf(flags, LOCAL_FLAGS.logLevel),
    ...kubeconfigOf(flags),
  };
}

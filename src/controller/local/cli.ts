/**
 * The `local` command's configuration: exactly the flags and environment the
 * LocalStaticProvisioner construct writes into its DaemonSet (shared/controller-config.ts),
 * plus `--kubeconfig` for running outside a cluster.
 */
import { DEFAULT_HTTP_PORT, ENV, LOCAL_FLAGS, PATHS } from '../../shared/controller-config';
import { ConfigError, FlagSpec, parseFlags } from '../flags';

/** Not in LOCAL_FLAGS: the constructs never write it (in a cluster the service account is used). */
const KUBECONFIG_FLAG = 'kubeconfig';

export const LOCAL_FLAG_SPECS: Readonly<Record<string, FlagSpec>> = {
  [LOCAL_FLAGS.config]: { kind: 'string', required: true, help: `the class map (${PATHS.localConfigDir}/${PATHS.localConfigFile} in the DaemonSet)` },
  [LOCAL_FLAGS.httpPort]: { kind: 'integer', defaultText: String(DEFAULT_HTTP_PORT), help: 'port for /healthz, /readyz and /metrics (0 picks a free port)' },
  [KUBECONFIG_FLAG]: { kind: 'string', defaultText: 'in-cluster service account', help: 'kubeconfig file to use instead' },
};

export interface LocalCommandConfig {
  /** Path of the class map. */
  readonly configPath: string;
  readonly httpPort: number;
  /** The node this agent serves (from the downward API). */
  readonly nodeName: string;
  /** Event source instance (the pod name), defaulting to the node name. */
  readonly instance: string;
  readonly kubeconfig?: string;
}

/** Parses the `local` command's arguments; `env` supplies NODE_NAME and POD_NAME. */
export function parseLocalCommand(args: readonly string[], env: Readonly<Record<string, string | undefined>>): LocalCommandConfig {
  const flags = parseFlags(args, LOCAL_FLAG_SPECS);
  const httpPort = (flags.get(LOCAL_FLAGS.httpPort) as number | undefined) ?? DEFAULT_HTTP_PORT;
  if (httpPort < 0 || httpPort > 65535) {
    throw new ConfigError(`--${LOCAL_FLAGS.httpPort}=${httpPort} is not a port: use 0-65535`);
  }
  const nodeName = env[ENV.nodeName];
  if (!nodeName) {
    throw new ConfigError(`the ${ENV.nodeName} environment variable is not set: the agent must know its node (fieldRef spec.nodeName)`);
  }
  const kubeconfig = flags.get(KUBECONFIG_FLAG) as string | undefined;
  return {
    configPath: flags.get(LOCAL_FLAGS.config) as string,
    httpPort,
    nodeName,
    instance: env[ENV.podName] || nodeName,
    ...(kubeconfig !== undefined ? { kubeconfig } : {}),
  };
}

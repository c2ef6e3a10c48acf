/**
 * The `nfs-server` command's configuration: exactly the flags and environment the
 * in-cluster server's StatefulSet passes, plus `--kubeconfig` for running outside a
 * cluster. The flags themselves are specified in src/contract/flags.ts.
 */
import { ENV, NFS_PORT, NFS_SERVER_FLAGS, PATHS } from '../../contract/controller-config';
import { NFS_SERVER_FLAG_SPECS } from '../../contract/flags';
import { isDnsLabel } from '../../contract/names';
import { DEFAULT_QUOTA_MODE, QUOTA_MODES, QuotaMode } from '../../contract/values';
import { ConfigError, parseFlags } from '../core/flags';
import { absolutePath, checkProvisionerName, ProvisionerSettings, parseProvisionerFlags } from '../nfs/flags';

export interface NfsServerConfig extends ProvisionerSettings {
  readonly provisionerName: string;
  /** Mount point of the backing storage (absolute, normalised). */
  readonly dataDir: string;
  readonly quota: QuotaMode;
  /** Allocate loop images up front instead of leaving them sparse. */
  readonly preallocate: boolean;
  /** The server's Service, whose cluster IP the PVs name. */
  readonly serviceName: string;
  /** The namespace of the pod and of that Service. */
  readonly namespace: string;
  /** Where ganesha's configuration and pid file are written (absolute, normalised). */
  readonly ganeshaConfigDir: string;
  /** Port ganesha serves NFS on; /readyz makes its NULL call there on 127.0.0.1. */
  readonly nfsPort: number;
}

/**
 * Parses the `nfs-server` command's arguments; `env` supplies POD_NAME / POD_NAMESPACE.
 *
 * @throws ConfigError naming the first bad or missing setting.
 */
export function parseNfsServerConfig(args: readonly string[], env: Readonly<Record<string, string | undefined>>): NfsServerConfig {
  const flags = parseFlags(args, NFS_SERVER_FLAG_SPECS);
  const str = (name: string) => flags.get(name) as string | undefined;

  const provisionerName = checkProvisionerName(str(NFS_SERVER_FLAGS.provisionerName)!);
  const quota = str(NFS_SERVER_FLAGS.quota) ?? DEFAULT_QUOTA_MODE;
  if (!(QUOTA_MODES as readonly string[]).includes(quota)) {
    throw new ConfigError(`--${NFS_SERVER_FLAGS.quota}=${JSON.stringify(quota)} is not a quota mode: use one of ${QUOTA_MODES.join(', ')}`);
  }
  const serviceName = str(NFS_SERVER_FLAGS.serviceName)!;
  if (!isDnsLabel(serviceName)) {
    throw new ConfigError(`--${NFS_SERVER_FLAGS.serviceName}=${JSON.stringify(serviceName)} is not a Service name (a DNS label)`);
  }
  const namespace = env[ENV.podNamespace];
  if (!namespace) {
    throw new ConfigError(`the ${ENV.podNamespace} environment variable must name the namespace of the pod and its Service --${NFS_SERVER_FLAGS.serviceName}`);
  }
  const nfsPort = flags.get(NFS_SERVER_FLAGS.nfsPort) as number | undefined ?? NFS_PORT;
  if (nfsPort < 1 || nfsPort > 65535) {
    throw new ConfigError(`--${NFS_SERVER_FLAGS.nfsPort}=${nfsPort} is not a port: use 1-65535 (${NFS_PORT}, the default, is the one NFS clients expect)`);
  }
  return {
    provisionerName,
    dataDir: absolutePath(NFS_SERVER_FLAGS.dataDir, str(NFS_SERVER_FLAGS.dataDir) ?? PATHS.nfsServerData),
    quota: quota as QuotaMode,
    preallocate: flags.get(NFS_SERVER_FLAGS.preallocate) as boolean | undefined ?? false,
    serviceName,
    namespace,
    ganeshaConfigDir: absolutePath(NFS_SERVER_FLAGS.ganeshaConfigDir, str(NFS_SERVER_FLAGS.ganeshaConfigDir) ?? PATHS.ganeshaConfigDir),
    nfsPort,
    ...withPodIdentity(parseProvisionerFlags(flags, provisionerName, env), env),
  };
}

/**
 * The server leads under its pod's name alone. A StatefulSet runs at most one pod of a name,
 * and a restarted container of that pod is the same server on the same data, so it takes its
 * Lease back at once instead of standing by a whole lease duration for a holder (itself,
 * killed) that can no longer release it. The Deployment's replicas keep the random suffix.
 */
function withPodIdentity(settings: ProvisionerSettings, env: Readonly<Record<string, string | undefined>>): ProvisionerSettings {
  const podName = env[ENV.podName];
  if (!settings.leaderElection.enabled || !podName) return settings;
  return { ...settings, leaderElection: { ...settings.leaderElection, identity: podName } };
}

/**
 * The `nfs` command's configuration: exactly the flags and environment the NfsProvisioner
 * construct writes into its Deployment, plus `--kubeconfig` for running outside a cluster.
 * The flags themselves are specified in src/contract/flags.ts.
 */
import { randomBytes } from 'crypto';
import * as os from 'os';
import * as path from 'path';
import { DEFAULT_HTTP_PORT, DEFAULT_USAGE_INTERVAL_SECONDS, ENV, NFS_FLAGS } from '../../contract/controller-config';
import { DEFAULT_WORKERS, KUBECONFIG_FLAG, NFS_FLAG_SPECS } from '../../contract/flags';
import { isDnsSubdomain, isProvisionerName, leaseNameFor } from '../../contract/names';
import { LogLevelValue } from '../../contract/values';
import { ConfigError, FlagValue, logLevelOf, parseFlags } from '../core/flags';

const MAX_WORKERS = 1024;
/** A day: measuring less often than that is as good as off. */
const MAX_USAGE_INTERVAL_SECONDS = 86_400;

export type LeaderElectionConfig =
  | { readonly enabled: false }
  | { readonly enabled: true; readonly leaseName: string; readonly namespace: string; readonly identity: string };

export interface NfsConfig {
  readonly provisionerName: string;
  /** NFS server host written into PVs. */
  readonly server: string;
  /** Exported path on the server (normalised, absolute, no trailing slash except `/`). */
  readonly exportPath: string;
  /** Local mount point of the export (absolute). */
  readonly root: string;
  readonly leaderElection: LeaderElectionConfig;
  readonly httpPort: number;
  readonly workers: number;
  /** Seconds between usage passes; 0 = no measuring and no autoGrow. */
  readonly usageIntervalSeconds: number;
  /** Lowest level of the log lines written. @default info */
  readonly logLevel?: LogLevelValue;
  readonly kubeconfig?: string;
}

/**
 * Parses the `nfs` command's arguments; `env` supplies POD_NAME / POD_NAMESPACE.
 *
 * @throws ConfigError naming the first bad or missing setting.
 */
export function parseNfsConfig(args: readonly string[], env: Readonly<Record<string, string | undefined>>): NfsConfig {
  const flags = parseFlags(args, NFS_FLAG_SPECS);
  const str = (name: string) => flags.get(name) as string | undefined;

  const provisionerName = checkProvisionerName(str(NFS_FLAGS.provisionerName)!);
  const server = str(NFS_FLAGS.server)!;
  if (!/^[A-Za-z0-9.:\[\]_-]+$/.test(server)) {
    throw new ConfigError(`--${NFS_FLAGS.server}=${JSON.stringify(server)} is not a host name or IP address`);
  }
  const exportPath = absolutePath(NFS_FLAGS.path, str(NFS_FLAGS.path)!);
  const root = absolutePath(NFS_FLAGS.root, str(NFS_FLAGS.root)!);

  return {
    provisionerName,
    server,
    exportPath,
    root,
    ...parseProvisionerFlags(flags, provisionerName, env),
  };
}

/** The settings every provisioning command (`nfs`, `nfs-server`) reads from the flags they share. */
export type ProvisionerSettings = Pick<NfsConfig, 'leaderElection' | 'httpPort' | 'workers' | 'usageIntervalSeconds' | 'logLevel' | 'kubeconfig'>;

/**
 * Reads and checks the shared provisioning flags (leader election, HTTP port, workers, usage
 * interval, log level, kubeconfig) from parsed flags.
 *
 * @throws ConfigError naming the first bad setting.
 */
export function parseProvisionerFlags(
  flags: ReadonlyMap<string, FlagValue>,
  provisionerName: string,
  env: Readonly<Record<string, string | undefined>>,
): ProvisionerSettings {
  const str = (name: string) => flags.get(name) as string | undefined;
  const int = (name: string) => flags.get(name) as number | undefined;
  const httpPort = int(NFS_FLAGS.httpPort) ?? DEFAULT_HTTP_PORT;
  if (httpPort < 0 || httpPort > 65535) {
    throw new ConfigError(`--${NFS_FLAGS.httpPort}=${httpPort} is not a port: use 0-65535`);
  }
  const workers = int(NFS_FLAGS.workers) ?? DEFAULT_WORKERS;
  if (workers < 1 || workers > MAX_WORKERS) {
    throw new ConfigError(`--${NFS_FLAGS.workers}=${workers} is out of range: use 1-${MAX_WORKERS}`);
  }
  const usageIntervalSeconds = int(NFS_FLAGS.usageInterval) ?? DEFAULT_USAGE_INTERVAL_SECONDS;
  if (usageIntervalSeconds < 0 || usageIntervalSeconds > MAX_USAGE_INTERVAL_SECONDS) {
    throw new ConfigError(`--${NFS_FLAGS.usageInterval}=${usageIntervalSeconds} is out of range: use 0 (off) to ${MAX_USAGE_INTERVAL_SECONDS}`);
  }
  return {
    leaderElection: leaderElection(flags.get(NFS_FLAGS.leaderElect) as boolean | undefined ?? true, provisionerName, str, env),
    httpPort,
    workers,
    usageIntervalSeconds,
    logLevel: logLevelOf(flags, NFS_FLAGS.logLevel),
    kubeconfig: str(KUBECONFIG_FLAG),
  };
}

/**
 * Checks a provisioner name flag.
 *
 * @throws ConfigError when it is not a qualified name.
 */
export function checkProvisionerName(provisionerName: string): string {
  if (!isProvisionerName(provisionerName)) {
    throw new ConfigError(`--${NFS_FLAGS.provisionerName}=${JSON.stringify(provisionerName)} is not a valid provisioner name: use a qualified name such as example.com/nfs`);
  }
  return provisionerName;
}

function leaderElection(
  enabled: boolean,
  provisionerName: string,
  str: (name: string) => string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): LeaderElectionConfig {
  if (!enabled) return { enabled: false };
  const leaseName = str(NFS_FLAGS.leaseName) ?? leaseNameFor(provisionerName);
  if (!isDnsSubdomain(leaseName)) {
    throw new ConfigError(`--${NFS_FLAGS.leaseName}=${JSON.stringify(leaseName)} is not a valid Lease name (a DNS subdomain)`);
  }
  const namespace = str(NFS_FLAGS.leaseNamespace) ?? env[ENV.podNamespace];
  if (!namespace) {
    throw new ConfigError(`leader election needs a namespace: set --${NFS_FLAGS.leaseNamespace} or the ${ENV.podNamespace} environment variable, or pass --${NFS_FLAGS.leaderElect}=false`);
  }
  // Identity: the pod name is what `kubectl get lease` readers expect; the random suffix keeps
  // two processes on one host (or a restarted pod with the same name) apart.
  const identity = `${env[ENV.podName] || os.hostname()}_${randomBytes(4).toString('hex')}`;
  return { enabled: true, leaseName, namespace, identity };
}

/**
 * Checks and normalises an absolute path flag.
 *
 * @throws ConfigError for a relative path or one with "." or ".." segments.
 */
export function absolutePath(flag: string, value: string): string {
  if (!path.posix.isAbsolute(value) || value.includes('\0')) {
    throw new ConfigError(`--${flag}=${JSON.stringify(value)} must be an absolute path`);
  }
  if (value.split('/').some((s) => s === '..' || s === '.')) {
    throw new ConfigError(`--${flag}=${JSON.stringify(value)} may not contain "." or ".." segments`);
  }
  const normal = path.posix.normalize(value);
  return normal.length > 1 ? normal.replace(/\/+$/, '') : normal;
}

/**
 * The flag spec of each command: name, kind, help and default, in one table per command.
 * The runtime parses against these tables and prints `--help` from them, the constructs
 * build their container args through {@link flagArg} (which refuses a flag the table does
 * not have), and a test holds the flag tables in docs/controller.md and docs/local.md to
 * them.
 */
import { DEFAULT_HTTP_PORT, DEFAULT_RESYNC_SECONDS, DEFAULT_USAGE_INTERVAL_SECONDS, ENV, LOCAL_FLAGS, NFS_FLAGS, NFS_PORT, NFS_SERVER_FLAGS, PATHS } from './controller-config';
import { DEFAULT_LOG_LEVEL, DEFAULT_QUOTA_MODE, LOG_LEVELS, QUOTA_MODES } from './values';

export type FlagKind = 'string' | 'boolean' | 'integer';

export interface FlagSpec {
  readonly kind: FlagKind;
  /** One line for `--help`. */
  readonly help: string;
  /** Shown in `--help` and the docs; the parser itself applies no defaults. */
  readonly defaultText?: string;
  readonly required?: boolean;
}

/**
 * Every command accepts it; the constructs never write it (in a cluster the service
 * account is used).
 */
export const KUBECONFIG_FLAG = 'kubeconfig';

const KUBECONFIG_SPEC: FlagSpec = { kind: 'string', defaultText: 'in-cluster service account', help: 'kubeconfig file to use instead' };
const LOG_LEVEL_SPEC: FlagSpec = { kind: 'string', defaultText: DEFAULT_LOG_LEVEL, help: `lowest level of the log lines written: ${LOG_LEVELS.join(', ')}` };
const HTTP_PORT_SPEC: FlagSpec = { kind: 'integer', defaultText: String(DEFAULT_HTTP_PORT), help: 'port for /healthz, /readyz and /metrics (0 picks a free port)' };

/** Default of the nfs command's --workers. */
export const DEFAULT_WORKERS = 16;

export type NfsFlagName = typeof NFS_FLAGS[keyof typeof NFS_FLAGS] | typeof KUBECONFIG_FLAG;

/** The flags the provisioning commands (`nfs`, `nfs-server`) share, one spec each. */
const PROVISIONER_NAME_SPEC: FlagSpec = { kind: 'string', required: true, help: 'provisioner name the StorageClasses refer to, e.g. example.com/nfs' };
const SHARED_PROVISIONER_SPECS = {
  [NFS_FLAGS.leaderElect]: { kind: 'boolean', defaultText: 'true', help: 'hold a Lease before doing any work (needed with more than one replica)' },
  [NFS_FLAGS.leaseName]: {
    kind: 'string',
    defaultText: 'the provisioner name with "/" as "-", lowercased (a DNS label if still not a valid name)',
    help: 'name of the Lease',
  },
  [NFS_FLAGS.leaseNamespace]: { kind: 'string', defaultText: `$${ENV.podNamespace}`, help: 'namespace of the Lease' },
  [NFS_FLAGS.httpPort]: HTTP_PORT_SPEC,
  [NFS_FLAGS.workers]: { kind: 'integer', defaultText: String(DEFAULT_WORKERS), help: 'most volume operations running at once' },
  [NFS_FLAGS.usageInterval]: {
    kind: 'integer',
    defaultText: String(DEFAULT_USAGE_INTERVAL_SECONDS),
    help: 'seconds between measurements of the volumes\' used bytes (annotations, metrics, autoGrow); 0 turns them off',
  },
  [NFS_FLAGS.logLevel]: LOG_LEVEL_SPEC,
  [NFS_FLAGS.resync]: {
    kind: 'integer',
    defaultText: String(DEFAULT_RESYNC_SECONDS),
    help: 'seconds between full relists of claims, volumes and classes, each replayed to the reconcilers (+-10%)',
  },
  [KUBECONFIG_FLAG]: KUBECONFIG_SPEC,
} as const satisfies Record<string, FlagSpec>;

/** The `nfs` command's flags, in `--help` and docs order. */
export const NFS_FLAG_SPECS: Readonly<Record<NfsFlagName, FlagSpec>> = {
  [NFS_FLAGS.provisionerName]: PROVISIONER_NAME_SPEC,
  [NFS_FLAGS.server]: { kind: 'string', required: true, help: 'NFS server host or IP written into every PV (resolved by the nodes)' },
  [NFS_FLAGS.path]: { kind: 'string', required: true, help: 'exported path on the server under which volume directories live' },
  [NFS_FLAGS.root]: { kind: 'string', required: true, help: 'where that export is mounted in this container' },
  ...SHARED_PROVISIONER_SPECS,
};

export type NfsServerFlagName = typeof NFS_SERVER_FLAGS[keyof typeof NFS_SERVER_FLAGS] | typeof KUBECONFIG_FLAG;

/** The `nfs-server` command's flags, in `--help` and docs order. */
export const NFS_SERVER_FLAG_SPECS: Readonly<Record<NfsServerFlagName, FlagSpec>> = {
  [NFS_SERVER_FLAGS.provisionerName]: PROVISIONER_NAME_SPEC,
  [NFS_SERVER_FLAGS.dataDir]: { kind: 'string', defaultText: PATHS.nfsServerData, help: 'mount point of the backing storage (volume images, mountpoints, exports, NFSv4 recovery)' },
  [NFS_SERVER_FLAGS.quota]: { kind: 'string', defaultText: DEFAULT_QUOTA_MODE, help: `how a volume's size is enforced: ${QUOTA_MODES.join(', ')}` },
  [NFS_SERVER_FLAGS.preallocate]: { kind: 'boolean', defaultText: 'false', help: 'allocate each loop image\'s blocks up front, so the backing disk cannot be over-committed' },
  [NFS_SERVER_FLAGS.serviceName]: { kind: 'string', required: true, help: 'the server\'s Service in this pod\'s namespace; its cluster IP goes into every PV' },
  [NFS_SERVER_FLAGS.ganeshaConfigDir]: { kind: 'string', defaultText: PATHS.ganeshaConfigDir, help: 'where ganesha\'s configuration is written (an emptyDir)' },
  [NFS_SERVER_FLAGS.nfsPort]: {
    kind: 'integer',
    defaultText: String(NFS_PORT),
    help: 'port ganesha serves NFS on (the container port the Service targets); another one only where 2049 is taken, e.g. in a host network',
  },
  ...SHARED_PROVISIONER_SPECS,
};

export type LocalFlagName = typeof LOCAL_FLAGS[keyof typeof LOCAL_FLAGS] | typeof KUBECONFIG_FLAG;

/** The `local` command's flags (node agent and, with --node-cleanup, the node-deletion role). */
export const LOCAL_FLAG_SPECS: Readonly<Record<LocalFlagName, FlagSpec>> = {
  // Required in agent mode only, so not `required`: the parser checks it, because the
  // node-deletion role has no class map.
  [LOCAL_FLAGS.config]: {
    kind: 'string',
    help: `the class map (${PATHS.localConfigDir}/${PATHS.localConfigFile} in the DaemonSet); required unless --${LOCAL_FLAGS.nodeCleanup}`,
  },
  [LOCAL_FLAGS.httpPort]: HTTP_PORT_SPEC,
  [LOCAL_FLAGS.nodeCleanup]: { kind: 'boolean', defaultText: 'false', help: 'run the cluster-wide node-deletion role (one replica) instead of a node agent' },
  [LOCAL_FLAGS.logLevel]: LOG_LEVEL_SPEC,
  [KUBECONFIG_FLAG]: KUBECONFIG_SPEC,
};

/**
 * One container argument, `--name=value` (or a bare `--name` for a boolean set to true
 * without a value). Throws for a name the command's spec does not have, so a construct can
 * never write a flag the controller would refuse at start.
 */
export function flagArg<N extends string>(specs: Readonly<Record<N, FlagSpec>>, name: N, value?: string | number): string {
  if (!Object.prototype.hasOwnProperty.call(specs, name)) {
    throw new Error(`--${name} is not a flag of this command; known flags: ${Object.keys(specs).map((k) => `--${k}`).join(', ')}`);
  }
  if (value === undefined && specs[name].kind !== 'boolean') {
    throw new Error(`--${name} needs a value: only a boolean flag may be written bare`);
  }
  return value === undefined ? `--${name}` : `--${name}=${value}`;
}

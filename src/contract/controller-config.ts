/**
 * The configuration contract between the constructs and the controller.
 *
 * The constructs write these flags into the container args (and the environment
 * variables into its env); the controller parses exactly these and nothing else.
 * Both halves import this file, so a renamed flag breaks the build, not a cluster.
 */
import type { BlockCleanerKind } from './values';

/** Sub-commands of `cdk8s-storage-controller`, one per role. */
export const COMMANDS = {
  nfs: 'nfs',
  /** The in-cluster NFS server: supervises nfs-ganesha and provisions one export per claim. */
  nfsServer: 'nfs-server',
  local: 'local',
} as const;

/** Flags of the `nfs` command (`--name=value`). */
export const NFS_FLAGS = {
  /** The provisioner name PVCs and StorageClasses refer to. Required. */
  provisionerName: 'provisioner-name',
  /** NFS server host written into every PV. Required. */
  server: 'nfs-server',
  /** Exported path on the server under which volume directories are created. Required. */
  path: 'nfs-path',
  /** Where the export is mounted inside the controller's container. Required. */
  root: 'root',
  /** `true` to elect a leader through a Lease before doing any work. */
  leaderElect: 'leader-elect',
  /** Name of the Lease used for leader election. */
  leaseName: 'leader-election-lease-name',
  /** Namespace of the Lease; defaults to the POD_NAMESPACE env. */
  leaseNamespace: 'leader-election-namespace',
  /** Port of the HTTP server for /healthz, /readyz and /metrics. */
  httpPort: 'http-port',
  /** Most volume operations running at once. */
  workers: 'workers',
  /** Seconds between two measurements of the volumes' used bytes (0 turns measuring and autoGrow off). */
  usageInterval: 'usage-interval-seconds',
  /** Lowest level of the log lines written (debug, info, warn, error). */
  logLevel: 'log-level',
  /** Seconds between full relists of the informers (the periodic resync). */
  resync: 'resync-seconds',
} as const;

/**
 * Flags of the `nfs-server` command (`--name=value`). The provisioning flags it shares with
 * `nfs` (provisioner name, leader election, HTTP port, workers, usage interval, log level,
 * resync) are the same flags, with the same names, meaning and defaults.
 */
export const NFS_SERVER_FLAGS = {
  provisionerName: NFS_FLAGS.provisionerName,
  /** Mount point of the backing storage: volume images, mountpoints, exports, NFSv4 recovery. */
  dataDir: 'data-dir',
  /** How a volume's size is enforced: one of QUOTA_MODES (src/contract/values.ts). */
  quota: 'quota',
  /** `true` to allocate a loop image's blocks up front, so the backing disk cannot be over-committed. */
  preallocate: 'preallocate',
  /** The server's Service in the pod's namespace: its spec.clusterIP goes into every PV. Required. */
  serviceName: 'service-name',
  /** Where ganesha's configuration is written (inside an emptyDir). */
  ganeshaConfigDir: 'ganesha-config-dir',
  /** Port ganesha serves NFS on and /readyz calls on 127.0.0.1 (the Service's target port). */
  nfsPort: 'nfs-port',
  leaderElect: NFS_FLAGS.leaderElect,
  leaseName: NFS_FLAGS.leaseName,
  leaseNamespace: NFS_FLAGS.leaseNamespace,
  httpPort: NFS_FLAGS.httpPort,
  workers: NFS_FLAGS.workers,
  usageInterval: NFS_FLAGS.usageInterval,
  logLevel: NFS_FLAGS.logLevel,
  resync: NFS_FLAGS.resync,
} as const;

/** Default of {@link NFS_FLAGS.resync}: ten minutes. */
export const DEFAULT_RESYNC_SECONDS = 600;

/** Default of {@link NFS_FLAGS.usageInterval}: a minute. */
export const DEFAULT_USAGE_INTERVAL_SECONDS = 60;

/** Flags of the `local` command (`--name=value`). */
export const LOCAL_FLAGS = {
  /** Path of the JSON class map (the mounted ConfigMap key). Required. */
  config: 'config',
  /** Port of the HTTP server for /healthz, /readyz and /metrics. */
  httpPort: 'http-port',
  /**
   * Run the cluster-wide node-deletion role instead of a node agent: remove the Available
   * PVs of deleted nodes, report the others. Needs neither --config nor NODE_NAME.
   */
  nodeCleanup: 'node-cleanup',
  /** Lowest level of the log lines written (debug, info, warn, error). */
  logLevel: 'log-level',
} as const;

/** Environment variables set from the downward API. */
export const ENV = {
  podName: 'POD_NAME',
  podNamespace: 'POD_NAMESPACE',
  nodeName: 'NODE_NAME',
} as const;

/** Fixed paths inside the controller containers. */
export const PATHS = {
  /** Mount point of the NFS export in the NFS controller. */
  nfsRoot: '/persistentvolumes',
  /** Mount point of the in-cluster NFS server's backing storage (default of --data-dir). */
  nfsServerData: '/data',
  /** Where the in-cluster NFS server writes ganesha's configuration (default of --ganesha-config-dir; an emptyDir). */
  ganeshaConfigDir: '/run/cdk8s-storage',
  /** Directory of the mounted local class-map ConfigMap. */
  localConfigDir: '/etc/cdk8s-storage',
  /** File name (ConfigMap key) of the local class map. */
  localConfigFile: 'classes.json',
} as const;

/** Default HTTP port for health and metrics. */
export const DEFAULT_HTTP_PORT = 8080;

/** The NFS port of the in-cluster server (NFSv4 only: no rpcbind, no other port). */
export const NFS_PORT = 2049;

/** One local storage class in the class map (`classes.json`) the node agent reads. */
export interface LocalClassConfig {
  /** StorageClass name the PVs are published under. */
  readonly storageClassName: string;
  /** Directory on the host whose first-level entries are the volumes (goes into `local.path`). */
  readonly hostDir: string;
  /** The same directory as mounted inside the agent's container. */
  readonly mountDir: string;
  /** `Filesystem` or `Block`. */
  readonly volumeMode: 'Filesystem' | 'Block';
  /** Filesystem type recorded on Block PVs that a kubelet should format, if any. */
  readonly fsType?: string;
  /** Glob (`*`, `?`) an entry name must match to be published. */
  readonly namePattern: string;
  /** PV reclaim policy: `Delete` or `Retain`. */
  readonly reclaimPolicy: 'Delete' | 'Retain';
  /** Mount options written on the PVs. */
  readonly mountOptions?: string[];
  /** Block cleaner (Block classes only). */
  readonly blockCleaner?: { readonly kind: BlockCleanerKind; readonly passes?: number };
}

/** The whole class map. */
export interface LocalAgentConfig {
  /**
   * The LocalStaticProvisioner the agent belongs to, `<namespace>/<construct id>`. It is
   * part of the identity on every PV the agent publishes, so the agents of two provisioners
   * on one node leave each other's volumes alone. Absent in class maps written by earlier
   * versions: the agent then uses the node-wide identity those versions used.
   */
  readonly provisioner?: string;
  /**
   * The identity earlier versions gave the same provisioner, `<namespace>/<DaemonSet name>`,
   * when it differs: PVs stamped with it are adopted for the classes the agent serves, so an
   * upgrade keeps the volumes this provisioner's.
   */
  readonly formerProvisioner?: string;
  readonly classes: LocalClassConfig[];
}

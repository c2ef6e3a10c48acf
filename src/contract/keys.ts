/**
 * Annotation, label and parameter keys shared by the constructs (which write them)
 * and the controller (which reads them). One place, so the two halves cannot drift.
 */

/** Our own annotation/label prefix. */
export const PREFIX = 'cdk8s-storage.dev';

/** Kubernetes' own keys. */
export const K8S = {
  /** Set on a PV by the provisioner that created it. */
  provisionedBy: 'pv.kubernetes.io/provisioned-by',
  /** Set on a PVC by the PV controller: which external provisioner should act. */
  storageProvisioner: 'volume.kubernetes.io/storage-provisioner',
  /** The deprecated beta spelling of {@link K8S.storageProvisioner}; still read as a fallback. */
  betaStorageProvisioner: 'volume.beta.kubernetes.io/storage-provisioner',
  /** Set on a PVC by the scheduler for WaitForFirstConsumer classes. */
  selectedNode: 'volume.kubernetes.io/selected-node',
  /** Marks the default StorageClass. */
  defaultClass: 'storageclass.kubernetes.io/is-default-class',
  /** The hostname label a local PV's node affinity selects on. */
  hostnameLabel: 'kubernetes.io/hostname',
  /** Set on a PVC by the resizer that finished an expansion: the kubelet has nothing left to do. */
  nodeExpansionNotRequired: 'volume.kubernetes.io/node-expansion-not-required',
  /** The Pod Security Standard a namespace enforces (privileged | baseline | restricted). */
  podSecurityEnforce: 'pod-security.kubernetes.io/enforce',
} as const;

/** Annotations our controller writes on the PVs it provisions (the record delete trusts). */
export const PV_ANNOTATIONS = {
  /** Directory of the volume, relative to the provisioner root. */
  directory: `${PREFIX}/directory`,
  /** The onDelete policy in force when the volume was provisioned (DELETE | RETAIN | ARCHIVE). */
  onDelete: `${PREFIX}/on-delete`,
  /**
   * The size the volume's backend was last set to by a resize (a quantity). In subdir mode
   * the size is recorded here but not enforced: a directory has no size of its own.
   */
  sizeLimit: `${PREFIX}/size-limit`,
} as const;

/** Annotations on a PVC. */
export const PVC_ANNOTATIONS = {
  /** autoGrow: grow when used/capacity crosses this percentage (1-99). */
  autoGrowThresholdPercent: `${PREFIX}/auto-grow-threshold-percent`,
  /** autoGrow: quantity added per growth step (e.g. `1Gi`). */
  autoGrowIncrement: `${PREFIX}/auto-grow-increment`,
  /** autoGrow: the request never grows past this quantity. */
  autoGrowMax: `${PREFIX}/auto-grow-max`,
  /** Written by the controller: last measured used bytes of the volume. */
  usedBytes: `${PREFIX}/used-bytes`,
  /** Written by the controller: when {@link PVC_ANNOTATIONS.usedBytes} was measured (RFC 3339). */
  usedMeasuredAt: `${PREFIX}/used-measured-at`,
  /**
   * Written by the controller: autoGrow reached this max (a quantity) and said so once with
   * a Warning event. A different max (the policy was changed) makes it warn again.
   */
  autoGrowAtMax: `${PREFIX}/auto-grow-at-max`,
} as const;

/** StorageClass `parameters` understood by the NFS controller. */
export const NFS_CLASS_PARAMETERS = {
  /** Template of the directory name under the root, e.g. `${.PVC.namespace}/${.PVC.name}`. */
  pathPattern: 'pathPattern',
  /** What happens to the directory when the PV is deleted: DELETE | RETAIN | ARCHIVE. */
  onDelete: 'onDelete',
  /** Octal mode of the created directory, e.g. `0777`. */
  directoryMode: 'directoryMode',
  /** Largest size a claim of this class may request (quantity); larger resizes are infeasible. */
  maxVolumeSize: 'maxVolumeSize',
} as const;

/** Labels every object we synthesize carries. */
export const LABELS = {
  name: 'app.kubernetes.io/name',
  instance: 'app.kubernetes.io/instance',
  component: 'app.kubernetes.io/component',
  managedBy: 'app.kubernetes.io/managed-by',
  partOf: 'app.kubernetes.io/part-of',
  /** On local PVs: the node that owns the volume. */
  localNode: `${PREFIX}/node`,
  /** On local PVs: the local storage class the volume belongs to. */
  localClass: `${PREFIX}/local-class`,
  /**
   * On the metrics Service ({@link METRICS_SERVICE_LABEL_VALUE}): what a ServiceMonitor selects,
   * so that it matches that Service and not the workload's others (an in-cluster server's NFS
   * Service has the same app labels).
   */
  metricsService: `${PREFIX}/metrics`,
} as const;

/** The value of {@link LABELS.metricsService} on a metrics Service. */
export const METRICS_SERVICE_LABEL_VALUE = 'true';

/** The value of `app.kubernetes.io/part-of` / `managed-by` on our objects. */
export const PROJECT_NAME = 'cdk8s-storage';

/**
 * Annotations the local node agent writes on the PVs it publishes: the record its cleanup
 * verifies before wiping anything (see docs/local.md).
 */
export const LOCAL_PV_ANNOTATIONS = {
  /** Name of the node that published the PV (the label may be shortened; this never is). */
  node: `${PREFIX}/local-node-name`,
  /** The entry's name in the class's discovery directory. */
  entry: `${PREFIX}/local-entry`,
  /** `filesystem` (a mount point) or `block` (a block device). */
  kind: `${PREFIX}/local-kind`,
  /** `major:minor` of the block device, or of the device backing the mounted filesystem. */
  device: `${PREFIX}/local-device`,
  /** Stable identity of that device: `wwid:...`, `serial:...` or `loop:<backing file>`. */
  deviceId: `${PREFIX}/local-device-id`,
  /** The kernel's disk sequence number of that device (changes when a device is re-attached). */
  deviceSeq: `${PREFIX}/local-device-seq`,
  /**
   * Filesystem volumes: the directory of the filesystem that is mounted at the entry (the
   * mount's root, mountinfo field 4; `/` for a whole filesystem). Bind mounts of one disk
   * share the device, so only this tells them apart.
   */
  mountRoot: `${PREFIX}/local-mount-root`,
} as const;

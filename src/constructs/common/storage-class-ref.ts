import { Size } from 'cdk8s';

/**
 * How a volume can be mounted.
 *
 * @see https://kubernetes.io/docs/concepts/storage/persistent-volumes/#access-modes
 */
export enum AccessMode {
  /** Read-write by the pods of a single node. */
  READ_WRITE_ONCE = 'ReadWriteOnce',
  /** Read-only by many nodes. */
  READ_ONLY_MANY = 'ReadOnlyMany',
  /** Read-write by many nodes. */
  READ_WRITE_MANY = 'ReadWriteMany',
  /** Read-write by a single pod. */
  READ_WRITE_ONCE_POD = 'ReadWriteOncePod',
}

/**
 * Whether a volume is a mounted filesystem or a raw block device.
 *
 * @see https://kubernetes.io/docs/concepts/storage/persistent-volumes/#volume-mode
 */
export enum VolumeMode {
  /** A filesystem mounted into the pod. */
  FILESYSTEM = 'Filesystem',
  /** A raw block device exposed to the pod (`volumeDevices`). */
  BLOCK = 'Block',
}

/**
 * What Kubernetes does with a volume when its claim is deleted.
 *
 * @see https://kubernetes.io/docs/concepts/storage/persistent-volumes/#reclaiming
 */
export enum ReclaimPolicy {
  /** The volume is deleted (and its storage cleaned up by the provisioner). */
  DELETE = 'Delete',
  /** The volume and its data stay until an administrator removes them. */
  RETAIN = 'Retain',
}

/**
 * When a volume is bound to a claim.
 *
 * @see https://kubernetes.io/docs/concepts/storage/storage-classes/#volume-binding-mode
 */
export enum VolumeBindingMode {
  /** As soon as the claim is created. */
  IMMEDIATE = 'Immediate',
  /** When the first pod using the claim is scheduled (needed for node-local volumes). */
  WAIT_FOR_FIRST_CONSUMER = 'WaitForFirstConsumer',
}

/**
 * A StorageClass a claim can use: what `ResizableClaim` needs to know about it.
 *
 * `NfsStorageClass` and `LocalStorageClass` implement it.
 */
export interface IStorageClassRef {
  /** The StorageClass name (`metadata.name`). */
  readonly name: string;

  /** Whether claims of this class may grow (the class has `allowVolumeExpansion: true`). */
  readonly allowVolumeExpansion: boolean;

  /** Access modes a claim gets when it asks for none (NFS: ReadWriteMany; local: ReadWriteOnce). */
  readonly defaultAccessModes: AccessMode[];

  /** Volume mode a claim gets when it asks for none. */
  readonly defaultVolumeMode: VolumeMode;

  /**
   * The volume modes a claim of this class may ask for (NFS: Filesystem only).
   *
   * @default - any
   */
  readonly volumeModes?: VolumeMode[];

  /**
   * The largest size a claim of this class may request.
   *
   * @default - no limit
   */
  readonly maxVolumeSize?: Size;
}

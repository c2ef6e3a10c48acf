import { Size } from 'cdk8s';
import { PersistentVolumeAccessMode, PersistentVolumeMode } from 'cdk8s-plus-28';
import { propError } from './errors';
import { isDnsSubdomain } from '../../contract/names';

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
  readonly defaultAccessModes: PersistentVolumeAccessMode[];

  /** Volume mode a claim gets when it asks for none. */
  readonly defaultVolumeMode: PersistentVolumeMode;

  /**
   * The volume modes a claim of this class may ask for (NFS: Filesystem only).
   *
   * @default - any
   */
  readonly volumeModes?: PersistentVolumeMode[];

  /**
   * The largest size a claim of this class may request.
   *
   * @default - no limit
   */
  readonly maxVolumeSize?: Size;

  /**
   * Whether the class's provisioner measures the used space of its volumes, which
   * `ResizableClaim.autoGrow` acts on (an `NfsProvisioner` with `usageInterval` 0 does not).
   *
   * @default true
   */
  readonly measuresUsage?: boolean;

  /**
   * Label keys every claim of this class must carry: its volume path is rendered from them
   * (an NFS `pathPattern` with `${.PVC.labels.<key>}`).
   *
   * @default - none
   */
  readonly requiredClaimLabels?: string[];

  /**
   * Annotation keys every claim of this class must carry: its volume path is rendered from
   * them (an NFS `pathPattern` with `${.PVC.annotations.<key>}`).
   *
   * @default - none
   */
  readonly requiredClaimAnnotations?: string[];
}

/** What is known about a StorageClass that exists outside the app (`StorageClassRef.fromName`). */
export interface StorageClassRefOptions {
  /**
   * Whether the class has `allowVolumeExpansion: true`. A `ResizableClaim` of a class that
   * does not is a fixed-size claim: `autoGrow` is refused.
   */
  readonly allowVolumeExpansion: boolean;

  /**
   * The largest size a claim of this class may request or grow to.
   *
   * @default - no limit
   */
  readonly maxVolumeSize?: Size;

  /**
   * Access modes a claim gets when it asks for none.
   *
   * @default [PersistentVolumeAccessMode.READ_WRITE_ONCE]
   */
  readonly defaultAccessModes?: PersistentVolumeAccessMode[];

  /**
   * Volume mode a claim gets when it asks for none.
   *
   * @default PersistentVolumeMode.FILE_SYSTEM
   */
  readonly defaultVolumeMode?: PersistentVolumeMode;

  /**
   * The volume modes a claim of this class may ask for.
   *
   * @default - any
   */
  readonly volumeModes?: PersistentVolumeMode[];

  /**
   * Whether the class's provisioner measures volume usage (what `autoGrow` acts on).
   *
   * @default true
   */
  readonly measuresUsage?: boolean;

  /**
   * Label keys every claim of this class must carry.
   *
   * @default - none
   */
  readonly requiredClaimLabels?: string[];

  /**
   * Annotation keys every claim of this class must carry.
   *
   * @default - none
   */
  readonly requiredClaimAnnotations?: string[];
}

/**
 * A StorageClass that exists outside the app (created by another app, a Helm chart or the
 * cluster's installer), for a `ResizableClaim` to use. You state what the claim is checked
 * against: whether the class allows expansion and its maximum size.
 */
export class StorageClassRef implements IStorageClassRef {
  /**
   * A class by its name, with what is known about it.
   *
   * @param name the StorageClass name (`metadata.name`)
   */
  public static fromName(name: string, options: StorageClassRefOptions): StorageClassRef {
    return new StorageClassRef(name, options);
  }

  /** The StorageClass name. */
  public readonly name: string;
  /** Whether claims of the class may grow. */
  public readonly allowVolumeExpansion: boolean;
  /** Access modes a claim gets when it asks for none. */
  public readonly defaultAccessModes: PersistentVolumeAccessMode[];
  /** Volume mode a claim gets when it asks for none. */
  public readonly defaultVolumeMode: PersistentVolumeMode;
  /**
   * The volume modes a claim may ask for.
   *
   * @default - any
   */
  public readonly volumeModes?: PersistentVolumeMode[];
  /**
   * The largest size a claim may request or grow to.
   *
   * @default - no limit
   */
  public readonly maxVolumeSize?: Size;
  /**
   * Whether the class's provisioner measures volume usage.
   *
   * @default true
   */
  public readonly measuresUsage?: boolean;
  /**
   * Label keys every claim must carry.
   *
   * @default - none
   */
  public readonly requiredClaimLabels?: string[];
  /**
   * Annotation keys every claim must carry.
   *
   * @default - none
   */
  public readonly requiredClaimAnnotations?: string[];

  private constructor(name: string, options: StorageClassRefOptions) {
    const where = 'StorageClassRef.fromName';
    if (typeof name !== 'string' || !isDnsSubdomain(name)) {
      throw propError(where, 'name', name, 'is not a valid StorageClass name',
        'give the class\'s metadata.name: lowercase letters, digits, \'-\' and \'.\', starting and ending with a letter or digit');
    }
    if (typeof options?.allowVolumeExpansion !== 'boolean') {
      throw propError(where, 'allowVolumeExpansion', options?.allowVolumeExpansion, 'is not set',
        'say whether the class has allowVolumeExpansion: true (kubectl get storageclass <name> -o yaml)');
    }
    this.name = name;
    this.allowVolumeExpansion = options.allowVolumeExpansion;
    this.maxVolumeSize = options.maxVolumeSize;
    this.defaultAccessModes = [...options.defaultAccessModes ?? [PersistentVolumeAccessMode.READ_WRITE_ONCE]];
    this.defaultVolumeMode = options.defaultVolumeMode ?? PersistentVolumeMode.FILE_SYSTEM;
    this.volumeModes = options.volumeModes ? [...options.volumeModes] : undefined;
    this.measuresUsage = options.measuresUsage ?? true;
    this.requiredClaimLabels = options.requiredClaimLabels ? [...options.requiredClaimLabels] : undefined;
    this.requiredClaimAnnotations = options.requiredClaimAnnotations ? [...options.requiredClaimAnnotations] : undefined;
  }
}

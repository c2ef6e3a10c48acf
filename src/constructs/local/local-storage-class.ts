import { ApiObject } from 'cdk8s';
import { k8s, PersistentVolumeAccessMode, PersistentVolumeMode, PersistentVolumeReclaimPolicy } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { BlockCleaner } from './block-cleaner';
import type { LocalStaticProvisioner } from './local-static-provisioner';
import { checkDirectory, checkFsType, checkHostDir, checkMountDirIsFree, checkNamePattern } from './validation';
import { LocalClassConfig } from '../../contract/controller-config';
import { K8S, LABELS, PROJECT_NAME } from '../../contract/keys';
import { isDnsSubdomain } from '../../contract/names';
import { clusterScoped } from '../common/cluster-scoped';
import { nameFromId } from '../common/default-name';
import { propError } from '../common/errors';
import { IStorageClassRef, VolumeBindingMode } from '../common/storage-class-ref';

/** Static provisioners publish existing volumes; nothing is created on demand. */
const NO_PROVISIONER = 'kubernetes.io/no-provisioner';

/** Options of a local storage class (`LocalStaticProvisioner.addStorageClass`). */
export interface LocalStorageClassOptions {
  /**
   * The StorageClass name (a DNS subdomain, unique in the cluster). Claims refer to it and
   * cannot change it, so the default depends only on the construct id: renaming or moving
   * the chart keeps it.
   *
   * @default - the construct id as a DNS label (`Fast_SSD` -> `fast-ssd`)
   */
  readonly name?: string;

  /**
   * The discovery directory on every node: each mount point (Filesystem) or block device
   * (Block) directly inside it becomes one PersistentVolume. An absolute path (trailing
   * slashes are dropped). On a node where it does not exist, the kubelet creates it empty:
   * that class has no volumes there (only mount points and devices become volumes, never
   * the root filesystem) and the node agent serves the other classes.
   */
  readonly hostDir: string;

  /**
   * Where `hostDir` appears inside the node agent's container.
   *
   * @default - the same path as `hostDir`
   */
  readonly mountDir?: string;

  /**
   * Whether the volumes are mounted filesystems or raw block devices. A Block class makes
   * its provisioner's node agent privileged (it opens the devices to wipe them); with only
   * Filesystem classes without `fsType` it runs with two capabilities instead.
   *
   * @default PersistentVolumeMode.FILE_SYSTEM
   */
  readonly volumeMode?: PersistentVolumeMode;

  /**
   * For a Filesystem class whose entries are block devices: the filesystem the kubelet
   * creates on the device and mounts. Not valid for Block classes (pods get the raw device).
   * Like a Block class, it makes the node agent privileged.
   *
   * @default - the kubelet mounts the device with the filesystem it finds on it
   */
  readonly fsType?: string;

  /**
   * Only entries whose name matches this glob are published (`*` any run of characters,
   * `?` one character; no '/').
   *
   * @default '*'
   */
  readonly namePattern?: string;

  /**
   * How a released raw block device is wiped before it is published again. Block classes only.
   *
   * @default - BlockCleaner.quickReset() for Block classes (signatures only: choose
   * shred, zero or blkdiscard when tenants must not read each other's data)
   */
  readonly blockCleaner?: BlockCleaner;

  /**
   * What happens to a volume whose claim is deleted: DELETE wipes it (Filesystem: its
   * contents; Block: with the blockCleaner) and publishes it again; RETAIN keeps it for an
   * administrator.
   *
   * @default PersistentVolumeReclaimPolicy.DELETE
   */
  readonly reclaimPolicy?: PersistentVolumeReclaimPolicy;

  /**
   * Must be WAIT_FOR_FIRST_CONSUMER: a local volume lives on one node, so a claim may only
   * be bound once the scheduler has chosen the node of the pod that uses it.
   *
   * @default VolumeBindingMode.WAIT_FOR_FIRST_CONSUMER
   */
  readonly volumeBindingMode?: VolumeBindingMode;

  /**
   * Mount options written on the published Filesystem volumes. Not valid for Block classes.
   *
   * @default - none
   */
  readonly mountOptions?: string[];

  /**
   * Mark this class as the cluster's default StorageClass.
   *
   * @default false
   */
  readonly defaultClass?: boolean;
}

/** Props of a {@link LocalStorageClass}. */
export interface LocalStorageClassProps extends LocalStorageClassOptions {
  /** The provisioner whose node agent publishes this class's volumes. */
  readonly provisioner: LocalStaticProvisioner;
}

/**
 * A StorageClass of node-local volumes published by a {@link LocalStaticProvisioner}:
 * `kubernetes.io/no-provisioner`, WaitForFirstConsumer binding, no volume expansion.
 */
export class LocalStorageClass extends Construct implements IStorageClassRef {
  /** The StorageClass name. */
  public readonly name: string;
  /** The discovery directory on the nodes. */
  public readonly hostDir: string;
  /** The discovery directory inside the agent's container. */
  public readonly mountDir: string;
  /** Filesystem or Block. */
  public readonly volumeMode: PersistentVolumeMode;
  /** The glob entry names must match. */
  public readonly namePattern: string;
  /** Reclaim policy of the published volumes. */
  public readonly reclaimPolicy: PersistentVolumeReclaimPolicy;
  /**
   * The wiping method of a Block class.
   *
   * @default - none (Filesystem classes)
   */
  public readonly blockCleaner?: BlockCleaner;
  /**
   * Filesystem the kubelet creates on block-device entries.
   *
   * @default - none
   */
  public readonly fsType?: string;
  /** Local volumes cannot grow: their size is the size of the disk. */
  public readonly allowVolumeExpansion: boolean = false;
  /** Same as `volumeMode`: a claim of a Block class asks for a raw device. */
  public readonly defaultVolumeMode: PersistentVolumeMode;
  /** The provisioner that publishes the volumes. */
  public readonly provisioner: LocalStaticProvisioner;

  private readonly mountOptions?: string[];
  private readonly apiObject: ApiObject;

  public constructor(scope: Construct, id: string, props: LocalStorageClassProps) {
    super(scope, id);
    const where = this._where;
    this.provisioner = props.provisioner;
    this.volumeMode = props.volumeMode ?? PersistentVolumeMode.FILE_SYSTEM;
    this.defaultVolumeMode = this.volumeMode;
    this.reclaimPolicy = props.reclaimPolicy ?? PersistentVolumeReclaimPolicy.DELETE;
    this.namePattern = props.namePattern ?? '*';
    const block = this.volumeMode === PersistentVolumeMode.BLOCK;
    if (!Object.values(PersistentVolumeMode).includes(this.volumeMode)) {
      throw propError(where, 'volumeMode', this.volumeMode, 'is not a PersistentVolumeMode value', 'use PersistentVolumeMode.FILE_SYSTEM or PersistentVolumeMode.BLOCK');
    }
    if (!Object.values(PersistentVolumeReclaimPolicy).includes(this.reclaimPolicy)) {
      throw propError(where, 'reclaimPolicy', this.reclaimPolicy, 'is not a PersistentVolumeReclaimPolicy value', 'use PersistentVolumeReclaimPolicy.DELETE or PersistentVolumeReclaimPolicy.RETAIN');
    }

    if (props.name !== undefined && !isDnsSubdomain(props.name)) {
      throw propError(where, 'name', props.name, 'is not a valid StorageClass name',
        'use lowercase letters, digits, \'-\' and \'.\', starting and ending with a letter or digit (at most 253 characters)');
    }
    this.hostDir = checkHostDir(props.hostDir, where);
    this.mountDir = checkDirectory('mountDir', props.mountDir ?? this.hostDir, where);
    checkMountDirIsFree(this.mountDir, where);
    checkNamePattern(this.namePattern, where);

    const bindingMode = props.volumeBindingMode ?? VolumeBindingMode.WAIT_FOR_FIRST_CONSUMER;
    if (bindingMode !== VolumeBindingMode.WAIT_FOR_FIRST_CONSUMER) {
      // Immediate binding ties a claim to some node's volume before its pod is scheduled; the pod may then never fit there.
      throw propError(where, 'volumeBindingMode', bindingMode, 'is not possible for local volumes (claims would be bound before their pods are scheduled)',
        'remove volumeBindingMode or set VolumeBindingMode.WAIT_FOR_FIRST_CONSUMER');
    }
    if (props.blockCleaner && !block) {
      throw propError(where, 'blockCleaner', props.blockCleaner.method, `is set on a ${this.volumeMode} class (cleaners wipe raw devices of Block classes only)`,
        'remove blockCleaner or set volumeMode: PersistentVolumeMode.BLOCK');
    }
    this.blockCleaner = block ? props.blockCleaner ?? BlockCleaner.quickReset() : undefined;
    if (props.fsType !== undefined) {
      if (block) {
        throw propError(where, 'fsType', props.fsType, 'is set on a Block class, whose pods get the raw device unformatted',
          'remove fsType, or use volumeMode: PersistentVolumeMode.FILE_SYSTEM to have the kubelet format the devices');
      }
      checkFsType(props.fsType, where);
    }
    this.fsType = props.fsType;
    if (props.mountOptions !== undefined) {
      if (block) {
        throw propError(where, 'mountOptions', props.mountOptions, 'is set on a Block class, whose devices are never mounted', 'remove mountOptions');
      }
      const bad = props.mountOptions.find((o) => typeof o !== 'string' || o.length === 0 || /[\s,]/.test(o));
      if (bad !== undefined) {
        throw propError(where, 'mountOptions', bad, 'is not a single mount option', 'give one option per entry without spaces or commas, e.g. ["noatime", "nodiscard"]');
      }
    }
    this.mountOptions = props.mountOptions ? [...props.mountOptions] : undefined;

    this.apiObject = clusterScoped(new k8s.KubeStorageClass(this, 'Resource', {
      metadata: {
        name: props.name ?? nameFromId(this, where, 'name'),
        labels: { [LABELS.managedBy]: PROJECT_NAME, [LABELS.partOf]: PROJECT_NAME },
        ...(props.defaultClass ? { annotations: { [K8S.defaultClass]: 'true' } } : {}),
      },
      provisioner: NO_PROVISIONER,
      volumeBindingMode: VolumeBindingMode.WAIT_FOR_FIRST_CONSUMER,
      reclaimPolicy: this.reclaimPolicy,
      allowVolumeExpansion: false,
      ...(this.mountOptions ? { mountOptions: this.mountOptions } : {}),
    }));
    this.name = this.apiObject.name;

    // Last: the provisioner checks this class against every other one in the app.
    this.provisioner._register(this);
  }

  /** Local volumes are single-node: ReadWriteOnce. */
  public get defaultAccessModes(): PersistentVolumeAccessMode[] {
    return [PersistentVolumeAccessMode.READ_WRITE_ONCE];
  }

  /** @internal This class's entry in the node agent's class map. */
  public _toConfig(): LocalClassConfig {
    return {
      storageClassName: this.name,
      hostDir: this.hostDir,
      mountDir: this.mountDir,
      volumeMode: this.volumeMode,
      namePattern: this.namePattern,
      reclaimPolicy: this.reclaimPolicy,
      ...(this.fsType !== undefined ? { fsType: this.fsType } : {}),
      ...(this.mountOptions ? { mountOptions: [...this.mountOptions] } : {}),
      ...(this.blockCleaner ? { blockCleaner: this.blockCleaner._toConfig() } : {}),
    };
  }

  /** @internal Where the errors of this class point. */
  public get _where(): string {
    return `LocalStorageClass ${this.node.path}`;
  }
}

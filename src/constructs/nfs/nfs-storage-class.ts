import { Size } from 'cdk8s';
import { k8s, PersistentVolumeAccessMode, PersistentVolumeMode, PersistentVolumeReclaimPolicy } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { OnDelete } from './on-delete';
import { K8S, NFS_CLASS_PARAMETERS } from '../../contract/keys';
import { isDnsSubdomain, reservedDomainOf } from '../../contract/names';
import { DEFAULT_PATH_PATTERN, patternClaimKeys, validatePathPattern } from '../../contract/path-template';
import { formatQuantity } from '../../contract/quantity';
import { DEFAULT_DIRECTORY_MODE, DEFAULT_ON_DELETE } from '../../contract/values';
import { sizeToBytes } from '../claim/size';
import { checkNowAndAtSynth } from '../common/app-checks';
import { clusterScoped } from '../common/cluster-scoped';
import { nameFromId } from '../common/default-name';
import { propError } from '../common/errors';
import { IStorageClassRef, VolumeBindingMode } from '../common/storage-class-ref';

/**
 * Something that provisions NFS volumes under a provisioner name (an `NfsProvisioner`).
 */
export interface INfsProvisioner {
  /** The name StorageClasses put in their `provisioner` field. */
  readonly provisionerName: string;

  /**
   * Mount options of a class that sets none (an in-cluster server's are chosen for a server
   * that restarts).
   *
   * @default - ['nfsvers=4.1', 'hard']
   */
  readonly defaultMountOptions?: string[];

  /**
   * Whether the controller measures volume usage, which `ResizableClaim.autoGrow` acts on
   * (an `NfsProvisioner` with `usageInterval` 0 does not).
   *
   * @default true
   */
  readonly measuresUsage?: boolean;

  /**
   * Whether each volume is its own export on a server the provisioner runs (an in-cluster
   * server) rather than a directory of a shared export: a class's `pathPattern` does not
   * apply there and setting it is refused.
   *
   * @default false
   */
  readonly exportPerVolume?: boolean;
}

/**
 * Options of an NFS StorageClass (for `NfsProvisioner.addStorageClass()`).
 */
export interface NfsStorageClassOptions {
  /**
   * The StorageClass name (cluster-wide). Claims refer to it and cannot change it, so the
   * default depends only on the construct id: renaming or moving the chart keeps it.
   *
   * @default - the construct id as a DNS label (`Fast_NFS` -> `fast-nfs`)
   */
  readonly name?: string;

  /**
   * Directory of each volume under the export. Variables: `${.PVC.namespace}`,
   * `${.PVC.name}`, `${.PVC.labels.<key>}`, `${.PVC.annotations.<key>}`, `${.PV.name}`;
   * `/` makes nested directories. Claims of two namespaces must never render one directory,
   * so `${.PVC.namespace}` must be a directory level of its own (`${.PVC.namespace}/...`)
   * or `${.PV.name}` (unique per claim) must appear: `${.PVC.namespace}-${.PVC.name}` is
   * refused, since `payments-prod/db` and `payments/prod-db` would both get
   * `payments-prod-db`. The first level may not start with `archived-` (archives) or
   * `.cdk8s-storage-` (the controller's notes), and some claim must fit (255 bytes per
   * level). A claim whose labels or annotations are missing, empty or contain `/`, or
   * whose values render a reserved first level, fails to provision with an event.
   *
   * Subdirectory mode (`NfsServer.external`) only: on an in-cluster server every volume is
   * its own export, named after its PV, and setting a pattern is refused.
   *
   * @default '${.PVC.namespace}-${.PVC.name}-${.PV.name}'
   */
  readonly pathPattern?: string;

  /**
   * What happens to the directory when the volume is deleted. Only applies with the
   * reclaim policy `DELETE`: with `RETAIN` Kubernetes never deletes the volume, so setting
   * `onDelete` there is refused (to keep the directory of deleted volumes, use reclaim
   * policy `DELETE` with `OnDelete.RETAIN`).
   *
   * @default OnDelete.ARCHIVE
   */
  readonly onDelete?: OnDelete;

  /**
   * Mode of each volume directory, as an octal string (`'0777'`, `'0770'`, `'2775'`).
   * Root-squashing servers may need the default so that pods running as any user can write.
   * On an in-cluster server it is the mode of the root directory of each volume's filesystem.
   *
   * @default '0777'
   */
  readonly directoryMode?: string;

  /**
   * The largest size a claim of this class may request or grow to. A larger claim is not
   * provisioned (event `ProvisioningFailed`); a resize to a larger size is refused
   * (`ControllerResizeInfeasible`, a `ControllerResizeError` condition and a
   * `VolumeResizeFailed` Warning naming the maximum) until the request is lowered.
   * `ResizableClaim` checks its `storage` and `autoGrow.max` against it at synth time.
   *
   * @default - no limit
   */
  readonly maxVolumeSize?: Size;

  /**
   * What Kubernetes does with a volume when its claim is deleted. `DELETE` hands the volume
   * to the controller, which then applies `onDelete` (by default: archive, nothing lost).
   *
   * @default PersistentVolumeReclaimPolicy.DELETE
   */
  readonly reclaimPolicy?: PersistentVolumeReclaimPolicy;

  /**
   * NFS mount options written on every volume. One option per entry.
   *
   * @default - the provisioner's `defaultMountOptions`: on an external server
   * ['nfsvers=4.1', 'hard'] (NFS 4.1; I/O waits for a lost server instead of failing writes),
   * on an in-cluster server ['nfsvers=4.1', 'hard', 'noresvport', 'timeo=100', 'retrans=3']
   * (docs/server.md says why each)
   */
  readonly mountOptions?: string[];

  /**
   * Whether claims may grow. Kubernetes refuses a larger request on a class without it.
   * The controller acts as the external resizer for its volumes: it sets the PV's capacity
   * and the claim's `status.capacity` (the size is recorded, not enforced, in subdir mode).
   *
   * @default true
   */
  readonly allowVolumeExpansion?: boolean;

  /**
   * When volumes are provisioned.
   *
   * @default VolumeBindingMode.IMMEDIATE
   */
  readonly volumeBindingMode?: VolumeBindingMode;

  /**
   * Mark this class as the cluster default (claims without a class use it).
   *
   * @default false
   */
  readonly defaultClass?: boolean;
}

/**
 * Props of an `NfsStorageClass`.
 */
export interface NfsStorageClassProps extends NfsStorageClassOptions {
  /** The provisioner that serves this class. */
  readonly provisioner: INfsProvisioner;
}

/** Default NFS mount options of a class. */
const DEFAULT_NFS_MOUNT_OPTIONS: readonly string[] = Object.freeze(['nfsvers=4.1', 'hard']);

/**
 * A StorageClass whose volumes are directories on an NFS export, provisioned (and resized)
 * by an `NfsProvisioner`.
 */
export class NfsStorageClass extends Construct implements IStorageClassRef {
  /** The StorageClass name. */
  public readonly name: string;
  /** The provisioner name in the class's `provisioner` field. */
  public readonly provisionerName: string;
  /** The directory template of the volumes. */
  public readonly pathPattern: string;
  /** What happens to a deleted volume's directory. */
  public readonly onDelete: OnDelete;
  /** Mode of the volume directories (4 octal digits). */
  public readonly directoryMode: string;
  /** Reclaim policy of the volumes. */
  public readonly reclaimPolicy: PersistentVolumeReclaimPolicy;
  /** Whether claims may grow. */
  public readonly allowVolumeExpansion: boolean;
  /** When volumes are provisioned. */
  public readonly volumeBindingMode: VolumeBindingMode;
  /** Whether this is the cluster's default class. */
  public readonly defaultClass: boolean;
  /** The largest size a claim may have. */
  public readonly maxVolumeSize?: Size;
  /** NFS volumes can be mounted read-write by many nodes. */
  public readonly defaultAccessModes: PersistentVolumeAccessMode[] = [PersistentVolumeAccessMode.READ_WRITE_MANY];
  /** NFS volumes are filesystems. */
  public readonly defaultVolumeMode: PersistentVolumeMode = PersistentVolumeMode.FILE_SYSTEM;
  /**
   * Whether the provisioner measures volume usage (what `autoGrow` acts on).
   *
   * @default true
   */
  public readonly measuresUsage?: boolean;
  /**
   * Label keys the pathPattern renders, which every claim must carry.
   *
   * @default - none
   */
  public readonly requiredClaimLabels?: string[];
  /**
   * Annotation keys the pathPattern renders, which every claim must carry.
   *
   * @default - none
   */
  public readonly requiredClaimAnnotations?: string[];
  /** NFS volumes are filesystems only: a claim may not ask for a raw block device. */
  public readonly volumeModes?: PersistentVolumeMode[] = [PersistentVolumeMode.FILE_SYSTEM];

  private readonly _mountOptions: string[];

  public constructor(scope: Construct, id: string, props: NfsStorageClassProps) {
    super(scope, id);
    const where = `NfsStorageClass ${this.node.path}`;

    if (!props.provisioner || typeof props.provisioner.provisionerName !== 'string') {
      throw propError(where, 'provisioner', undefined, 'is missing', 'pass the NfsProvisioner that serves this class');
    }
    this.provisionerName = props.provisioner.provisionerName;
    const reserved = reservedDomainOf(this.provisionerName);
    if (reserved) {
      throw propError(where, 'provisioner.provisionerName', this.provisionerName, `is in the ${reserved} domain, which Kubernetes reserves for itself`,
        'Kubernetes never hands claims of such a class to this controller: use a provisioner whose name is in a domain you own, e.g. \'example.com/nfs\'');
    }

    if (props.name !== undefined && !isDnsSubdomain(props.name)) {
      throw propError(where, 'name', props.name, 'is not a valid StorageClass name',
        'use lowercase letters, digits, \'-\' and \'.\', starting and ending with a letter or digit (at most 253 characters)');
    }

    if (props.provisioner.exportPerVolume && props.pathPattern !== undefined) {
      throw propError(where, 'pathPattern', props.pathPattern,
        'is set on a class of an in-cluster server, where every volume is its own export named after its PV, so no directory pattern applies',
        'remove pathPattern from this class (it applies to provisioners of NfsServer.external only)');
    }
    this.pathPattern = props.pathPattern ?? DEFAULT_PATH_PATTERN;
    const patternErrors = validatePathPattern(this.pathPattern);
    if (patternErrors.length > 0) {
      throw new Error(`${where}: pathPattern is invalid: ${patternErrors.join('; ')}`);
    }
    const claimKeys = patternClaimKeys(this.pathPattern);
    this.requiredClaimLabels = claimKeys.labels;
    this.requiredClaimAnnotations = claimKeys.annotations;
    this.measuresUsage = props.provisioner.measuresUsage ?? true;

    this.onDelete = props.onDelete ?? DEFAULT_ON_DELETE as OnDelete;
    if (!Object.values(OnDelete).includes(this.onDelete)) {
      throw propError(where, 'onDelete', this.onDelete, 'is not an OnDelete value', 'use OnDelete.DELETE, OnDelete.RETAIN or OnDelete.ARCHIVE');
    }
    this.directoryMode = normalizeMode(where, props.directoryMode ?? DEFAULT_DIRECTORY_MODE.toString(8).padStart(4, '0'));
    this.reclaimPolicy = props.reclaimPolicy ?? PersistentVolumeReclaimPolicy.DELETE;
    if (!Object.values(PersistentVolumeReclaimPolicy).includes(this.reclaimPolicy)) {
      throw propError(where, 'reclaimPolicy', this.reclaimPolicy, 'is not a PersistentVolumeReclaimPolicy value', 'use PersistentVolumeReclaimPolicy.DELETE or PersistentVolumeReclaimPolicy.RETAIN');
    }
    if (this.reclaimPolicy === PersistentVolumeReclaimPolicy.RETAIN && props.onDelete !== undefined) {
      throw propError(where, 'onDelete', props.onDelete, 'is set with reclaimPolicy Retain, under which Kubernetes never deletes a volume, so it would never apply',
        'remove onDelete (the directory stays with the Released volume), or use reclaimPolicy Delete with onDelete OnDelete.RETAIN to keep directories of deleted volumes');
    }
    this.volumeBindingMode = props.volumeBindingMode ?? VolumeBindingMode.IMMEDIATE;
    if (!Object.values(VolumeBindingMode).includes(this.volumeBindingMode)) {
      throw propError(where, 'volumeBindingMode', this.volumeBindingMode, 'is not a VolumeBindingMode value',
        'use VolumeBindingMode.IMMEDIATE or VolumeBindingMode.WAIT_FOR_FIRST_CONSUMER');
    }
    this.allowVolumeExpansion = props.allowVolumeExpansion ?? true;
    this.defaultClass = props.defaultClass ?? false;
    this._mountOptions = checkMountOptions(where, props.mountOptions ?? props.provisioner.defaultMountOptions ?? [...DEFAULT_NFS_MOUNT_OPTIONS]);

    const parameters: Record<string, string> = {
      [NFS_CLASS_PARAMETERS.pathPattern]: this.pathPattern,
      [NFS_CLASS_PARAMETERS.onDelete]: this.onDelete,
      [NFS_CLASS_PARAMETERS.directoryMode]: this.directoryMode,
    };
    if (props.maxVolumeSize !== undefined) {
      const bytes = sizeToBytes(where, 'maxVolumeSize', props.maxVolumeSize);
      if (bytes <= 0n) {
        throw propError(where, 'maxVolumeSize', props.maxVolumeSize.asString(), 'is zero', 'give a positive size or leave it unset for no limit');
      }
      this.maxVolumeSize = props.maxVolumeSize;
      parameters[NFS_CLASS_PARAMETERS.maxVolumeSize] = formatQuantity(bytes);
    }

    const resource = new k8s.KubeStorageClass(this, 'Resource', {
      metadata: {
        name: props.name ?? nameFromId(this, where, 'name'),
        ...(this.defaultClass ? { annotations: { [K8S.defaultClass]: 'true' } } : {}),
      },
      provisioner: this.provisionerName,
      parameters,
      reclaimPolicy: this.reclaimPolicy,
      allowVolumeExpansion: this.allowVolumeExpansion,
      volumeBindingMode: this.volumeBindingMode,
      mountOptions: this._mountOptions.length > 0 ? [...this._mountOptions] : undefined,
    });
    clusterScoped(resource);
    this.name = resource.name;

    checkNowAndAtSynth(this, (app) => app.apiObjects('StorageClass').filter((other) => other !== resource).flatMap((other) => [
      ...other.name === this.name ? [propError(where, 'name', this.name, `is already used by the StorageClass at ${other.node.path}`,
        'give each StorageClass in the app its own name').message] : [],
      ...this.defaultClass && other.toJson().metadata?.annotations?.[K8S.defaultClass] === 'true'
        ? [propError(where, 'defaultClass', true, `but the StorageClass at ${other.node.path} is already the default`,
          'mark only one StorageClass as the default').message] : [],
    ]));
  }

  /** The mount options written on the volumes (a copy). */
  public get mountOptions(): string[] {
    return [...this._mountOptions];
  }
}

/** '777' / '0777' / '2775' / '02775' -> four octal digits. */
function normalizeMode(where: string, mode: string): string {
  if (typeof mode !== 'string' || !/^0?[0-7]{3,4}$/.test(mode) || mode.length > 5 || (mode.length === 5 && !mode.startsWith('0'))) {
    throw propError(where, 'directoryMode', mode, 'is not an octal mode', 'write it as octal digits in a string, e.g. \'0777\', \'0770\' or \'2775\'');
  }
  const value = parseInt(mode, 8);
  const owner = Math.floor(value / 0o100) % 8;
  if (owner !== 7) {
    throw propError(where, 'directoryMode', mode, 'does not give the owner read, write and search (7 in the owner digit)',
      'the controller must be able to fill and clean the directory: use e.g. \'0777\' or \'0770\'');
  }
  return value.toString(8).padStart(4, '0');
}

function checkMountOptions(where: string, options: string[]): string[] {
  if (!Array.isArray(options)) {
    throw propError(where, 'mountOptions', options, 'is not a list', 'give one option per entry, e.g. [\'nfsvers=4.1\', \'hard\']');
  }
  for (const option of options) {
    if (typeof option !== 'string' || !/^[A-Za-z0-9_][A-Za-z0-9_.:=/+-]*$/.test(option)) {
      throw propError(where, 'mountOptions', option, 'is not a single mount option',
        'give one option per entry without spaces or commas, e.g. [\'nfsvers=4.1\', \'hard\']');
    }
  }
  if (new Set(options).size !== options.length) {
    throw propError(where, 'mountOptions', options, 'has duplicates', 'list each option once');
  }
  return [...options];
}

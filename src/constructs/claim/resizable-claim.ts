import { ApiObject, Size } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { sizeToBytes } from './size';
import { PVC_ANNOTATIONS } from '../../contract/keys';
import { isDnsLabel, isDnsSubdomain } from '../../contract/names';
import { formatQuantity } from '../../contract/quantity';
import { checkNowAndAtSynth } from '../common/app-checks';
import { AppIndex } from '../common/app-index';
import { propError, quote } from '../common/errors';
import { AccessMode, IStorageClassRef, VolumeMode } from '../common/storage-class-ref';

/**
 * Grow a claim automatically when its volume fills up. The controller measures the used
 * space (every `usageInterval` of the provisioner) and raises the claim's request by
 * `increment` whenever usage reaches `thresholdPercent` of the capacity, never past `max`
 * (nor the class's `maxVolumeSize`); each step is an ordinary resize with its events. At
 * `max` it emits one Warning (`AutoGrowMaxReached`) and stops.
 *
 * The request is raised on the live claim: set `storage` to the grown size (each
 * `AutoGrowing` event names it) before you apply the app again, or the API server refuses
 * the claim's old, smaller size as a shrink.
 */
export interface AutoGrowPolicy {
  /** Grow when used space reaches this percentage of the capacity (1-99). */
  readonly thresholdPercent: number;
  /** How much to add per step. */
  readonly increment: Size;
  /** The request never grows past this size. */
  readonly max: Size;
}

/**
 * Props of a `ResizableClaim`.
 */
export interface ResizableClaimProps {
  /** The class the volume comes from. It must allow volume expansion. */
  readonly storageClass: IStorageClassRef;

  /**
   * Requested size. Grow it later by raising this value, synthesizing and applying: the
   * controller grows the volume and the claim reports the new capacity within seconds (or
   * let `autoGrow` do it). A smaller value than the claim's current capacity is refused by
   * the Kubernetes API server: volumes never shrink.
   */
  readonly storage: Size;

  /**
   * The claim name. Pods and the volume's directory refer to it, so set it explicitly for
   * anything that holds data: the generated name changes when the construct path changes.
   *
   * @default - generated from the construct path
   */
  readonly name?: string;

  /**
   * Namespace of the claim.
   *
   * @default - the chart's namespace
   */
  readonly namespace?: string;

  /**
   * Access modes of the claim.
   *
   * @default - the class's default (ReadWriteMany for NFS, ReadWriteOnce for local volumes)
   */
  readonly accessModes?: AccessMode[];

  /**
   * Filesystem or raw block volume. It must be one the class offers: NFS classes offer
   * Filesystem only.
   *
   * @default - the class's default (Filesystem for NFS; the class's mode for local volumes)
   */
  readonly volumeMode?: VolumeMode;

  /**
   * Grow the claim automatically from measured usage.
   *
   * @default - the claim only grows when you change `storage`
   */
  readonly autoGrow?: AutoGrowPolicy;
}

/**
 * A PersistentVolumeClaim that can grow: its class must allow expansion, its size is
 * written as an exact quantity, and an optional auto-grow policy is written as annotations
 * the controller acts on.
 *
 * Resizing: raise `storage`, synthesize, apply. Kubernetes itself only records
 * `ExternalExpanding` for an NFS claim; the `NfsProvisioner` controller is the external
 * resizer for its volumes. It marks the claim `Resizing` (event `Resizing`), sets the PV's
 * capacity, then the claim's `status.capacity` (event `VolumeResizeSuccessful`), so
 * `kubectl get pvc` shows the new size within seconds. A request above the class's
 * `maxVolumeSize` is `ControllerResizeInfeasible` with a Warning until it is lowered.
 */
export class ResizableClaim extends Construct {
  /** The claim name. */
  public readonly name: string;
  /** The StorageClass name. */
  public readonly storageClassName: string;
  /** The requested size as written in the manifest (e.g. `1536Mi`). */
  public readonly storageQuantity: string;
  /** The requested size. */
  public readonly storage: Size;
  /** Volume mode of the claim. */
  public readonly volumeMode: VolumeMode;
  /** The auto-grow policy, if any. */
  public readonly autoGrow?: AutoGrowPolicy;

  private readonly _accessModes: AccessMode[];

  public constructor(scope: Construct, id: string, props: ResizableClaimProps) {
    super(scope, id);
    const where = `ResizableClaim ${this.node.path}`;
    const sc = props.storageClass;

    if (!sc || typeof sc.name !== 'string') {
      throw propError(where, 'storageClass', undefined, 'is missing', 'pass the storage class the volume comes from (e.g. an NfsStorageClass)');
    }
    if (!sc.allowVolumeExpansion) {
      throw propError(where, 'storageClass', sc.name, 'does not allow volume expansion, so the claim could never grow',
        'use a class with allowVolumeExpansion: true, or a plain PersistentVolumeClaim');
    }
    this.storageClassName = sc.name;

    if (props.name !== undefined && !isDnsSubdomain(props.name)) {
      throw propError(where, 'name', props.name, 'is not a valid claim name',
        'use lowercase letters, digits, \'-\' and \'.\', starting and ending with a letter or digit (at most 253 characters)');
    }
    if (props.namespace !== undefined && !isDnsLabel(props.namespace)) {
      throw propError(where, 'namespace', props.namespace, 'is not a valid namespace name',
        'use lowercase letters, digits and \'-\', starting and ending with a letter or digit (at most 63 characters)');
    }

    const storageBytes = sizeToBytes(where, 'storage', props.storage);
    if (storageBytes <= 0n) {
      throw propError(where, 'storage', props.storage.asString(), 'is zero', 'request a positive size, e.g. Size.gibibytes(10)');
    }
    const classMax = sc.maxVolumeSize ? sizeToBytes(where, 'storageClass.maxVolumeSize', sc.maxVolumeSize) : undefined;
    if (classMax !== undefined && storageBytes > classMax) {
      throw propError(where, 'storage', props.storage.asString(), `is larger than the maxVolumeSize of class ${sc.name} (${formatQuantity(classMax)})`,
        'request less, or raise the class limit');
    }
    this.storage = props.storage;
    this.storageQuantity = formatQuantity(storageBytes);

    this._accessModes = checkAccessModes(where, props.accessModes ?? [...sc.defaultAccessModes]);
    this.volumeMode = props.volumeMode ?? sc.defaultVolumeMode;
    if (!Object.values(VolumeMode).includes(this.volumeMode)) {
      throw propError(where, 'volumeMode', this.volumeMode, 'is not a VolumeMode value', 'use VolumeMode.FILESYSTEM or VolumeMode.BLOCK');
    }
    if (sc.volumeModes && !sc.volumeModes.includes(this.volumeMode)) {
      throw propError(where, 'volumeMode', this.volumeMode, `is not offered by class ${sc.name} (its volumes are ${sc.volumeModes.join(' or ')})`,
        `remove volumeMode or use ${sc.volumeModes.map((m) => `VolumeMode.${m.toUpperCase()}`).join(' or ')}, or a class that offers ${this.volumeMode} volumes`);
    }

    const annotations: Record<string, string> = {};
    if (props.autoGrow) {
      this.autoGrow = props.autoGrow;
      const { thresholdPercent, increment, max } = props.autoGrow;
      if (!Number.isInteger(thresholdPercent) || thresholdPercent < 1 || thresholdPercent > 99) {
        throw propError(where, 'autoGrow.thresholdPercent', thresholdPercent, 'is outside 1-99',
          'give a whole percentage from 1 to 99, e.g. 80 (grow when the volume is 80% full)');
      }
      const incrementBytes = sizeToBytes(where, 'autoGrow.increment', increment);
      if (incrementBytes <= 0n) {
        throw propError(where, 'autoGrow.increment', increment.asString(), 'is zero', 'give a positive step, e.g. Size.gibibytes(5)');
      }
      const maxBytes = sizeToBytes(where, 'autoGrow.max', max);
      if (maxBytes < storageBytes) {
        throw propError(where, 'autoGrow.max', max.asString(), `is smaller than storage (${this.storageQuantity})`,
          'set max to at least the requested storage');
      }
      if (classMax !== undefined && maxBytes > classMax) {
        throw propError(where, 'autoGrow.max', max.asString(), `is larger than the maxVolumeSize of class ${sc.name} (${formatQuantity(classMax)})`,
          'lower max to the class limit, or raise the class limit');
      }
      annotations[PVC_ANNOTATIONS.autoGrowThresholdPercent] = String(thresholdPercent);
      annotations[PVC_ANNOTATIONS.autoGrowIncrement] = formatQuantity(incrementBytes);
      annotations[PVC_ANNOTATIONS.autoGrowMax] = formatQuantity(maxBytes);
    }

    const resource = new k8s.KubePersistentVolumeClaim(this, 'Resource', {
      // Keys only when set: cdk8s spreads metadata over the generated name and chart namespace.
      metadata: {
        ...(props.name !== undefined ? { name: props.name } : {}),
        ...(props.namespace !== undefined ? { namespace: props.namespace } : {}),
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      },
      spec: {
        storageClassName: sc.name,
        accessModes: [...this._accessModes],
        volumeMode: this.volumeMode,
        resources: { requests: { storage: k8s.Quantity.fromString(this.storageQuantity) } },
      },
    });
    this.name = resource.name;

    // Two claims of one name in one namespace are one object to the API server: applying the
    // app would silently keep only the last.
    checkNowAndAtSynth(this, (app) => {
      const other = sameClaim(app, resource);
      const namespace = resource.metadata.namespace;
      return other ? [`${where}: name ${quote(this.name)} is already used by the PersistentVolumeClaim at ${other.node.path} in the same namespace `
        + `(${namespace === undefined ? 'none set: the one kubectl applies to' : quote(namespace)}): give each claim in a namespace its own name`] : [];
    });
  }

  /** Access modes of the claim (a copy). */
  public get accessModes(): AccessMode[] {
    return [...this._accessModes];
  }
}

/** Another PersistentVolumeClaim in the app with the name and namespace of `claim`. */
function sameClaim(app: AppIndex, claim: ApiObject): ApiObject | undefined {
  return app.apiObjects('PersistentVolumeClaim')
    .find((other) => other !== claim && other.name === claim.name && other.metadata.namespace === claim.metadata.namespace);
}

function checkAccessModes(where: string, modes: AccessMode[]): AccessMode[] {
  if (!Array.isArray(modes) || modes.length === 0) {
    throw propError(where, 'accessModes', modes, 'is empty', 'give at least one AccessMode, or leave it unset for the class default');
  }
  for (const mode of modes) {
    if (!Object.values(AccessMode).includes(mode)) {
      throw propError(where, 'accessModes', mode, 'is not an AccessMode value', 'use the AccessMode enum, e.g. AccessMode.READ_WRITE_MANY');
    }
  }
  if (new Set(modes).size !== modes.length) {
    throw propError(where, 'accessModes', modes, 'has duplicates', 'list each access mode once');
  }
  if (modes.includes(AccessMode.READ_WRITE_ONCE_POD) && modes.length > 1) {
    throw propError(where, 'accessModes', modes, 'combines ReadWriteOncePod with other modes', 'Kubernetes allows ReadWriteOncePod only on its own');
  }
  return [...modes];
}

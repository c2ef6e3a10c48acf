import { ApiObject, Chart, Size } from 'cdk8s';
import { IPersistentVolumeClaim, k8s, PersistentVolumeAccessMode, PersistentVolumeMode } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { sizeToBytes } from './size';
import { PREFIX, PVC_ANNOTATIONS } from '../../contract/keys';
import { isDnsLabel, isDnsSubdomain, isLabelValue, isQualifiedName, LABEL_VALUE_FIX } from '../../contract/names';
import { formatQuantity } from '../../contract/quantity';
import { checkNowAndAtSynth } from '../common/app-checks';
import { AppIndex } from '../common/app-index';
import { nameFromId } from '../common/default-name';
import { propError, quote } from '../common/errors';
import { IStorageClassRef } from '../common/storage-class-ref';

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
  /**
   * The class the volume comes from: an `NfsStorageClass`, a `LocalStorageClass`, or a
   * class outside the app (`StorageClassRef.fromName`). A class without volume expansion
   * (every local class) gives a fixed-size claim: `autoGrow` is refused, and a larger
   * `storage` later is refused by the API server.
   */
  readonly storageClass: IStorageClassRef;

  /**
   * Requested size. Grow it later by raising this value, synthesizing and applying: the
   * controller grows the volume and the claim reports the new capacity within seconds (or
   * let `autoGrow` do it). A smaller value than the claim's current capacity is refused by
   * the Kubernetes API server: volumes never shrink.
   */
  readonly storage: Size;

  /**
   * The claim name. Pods and the volume's directory refer to it. The default depends only
   * on the construct id, so renaming or moving the chart keeps the claim (and its data).
   *
   * @default - the construct id as a DNS label (`Postgres_Data` -> `postgres-data`)
   */
  readonly name?: string;

  /**
   * Namespace of the claim. Always written on the claim, so `kubectl apply` never puts it
   * in whatever namespace the current context has.
   *
   * @default - the chart's namespace, or `default` when the chart has none
   */
  readonly namespace?: string;

  /**
   * Labels of the claim. A class whose `pathPattern` renders `${.PVC.labels.<key>}` needs
   * that key here (checked at synth).
   *
   * @default - none
   */
  readonly labels?: { [key: string]: string };

  /**
   * Annotations of the claim. A class whose `pathPattern` renders
   * `${.PVC.annotations.<key>}` needs that key here (checked at synth).
   *
   * @default - none
   */
  readonly annotations?: { [key: string]: string };

  /**
   * Access modes of the claim.
   *
   * @default - the class's default (ReadWriteMany for NFS, ReadWriteOnce for local volumes)
   */
  readonly accessModes?: PersistentVolumeAccessMode[];

  /**
   * Filesystem or raw block volume. It must be one the class offers: NFS classes offer
   * Filesystem only.
   *
   * @default - the class's default (Filesystem for NFS; the class's mode for local volumes)
   */
  readonly volumeMode?: PersistentVolumeMode;

  /**
   * Grow the claim automatically from measured usage.
   *
   * @default - the claim only grows when you change `storage`
   */
  readonly autoGrow?: AutoGrowPolicy;
}

/**
 * A PersistentVolumeClaim that can grow: its size is written as an exact quantity, and an
 * optional auto-grow policy is written as annotations the controller acts on. Of a class
 * without expansion (local volumes) it is a fixed-size claim with the same checks.
 *
 * It is a cdk8s-plus `IPersistentVolumeClaim`: mount it with
 * `Volume.fromPersistentVolumeClaim(scope, id, claim)`.
 *
 * Resizing: raise `storage`, synthesize, apply. Kubernetes itself only records
 * `ExternalExpanding` for an NFS claim; the `NfsProvisioner` controller is the external
 * resizer for its volumes. It marks the claim `Resizing` (event `Resizing`), sets the PV's
 * capacity, then the claim's `status.capacity` (event `VolumeResizeSuccessful`), so
 * `kubectl get pvc` shows the new size within seconds. A request above the class's
 * `maxVolumeSize` is `ControllerResizeInfeasible` with a Warning until it is lowered.
 */
export class ResizableClaim extends Construct implements IPersistentVolumeClaim {
  /** The claim name. */
  public readonly name: string;
  /** The claim's namespace. */
  public readonly namespace: string;
  /** `v1`. */
  public readonly apiVersion: string = 'v1';
  /** `PersistentVolumeClaim`. */
  public readonly kind: string = 'PersistentVolumeClaim';
  /** The core API group (empty). */
  public readonly apiGroup: string = '';
  /** `persistentvolumeclaims`. */
  public readonly resourceType: string = 'persistentvolumeclaims';
  /** The StorageClass name. */
  public readonly storageClassName: string;
  /** The requested size as written in the manifest (e.g. `1536Mi`). */
  public readonly storageQuantity: string;
  /** The requested size. */
  public readonly storage: Size;
  /** Volume mode of the claim. */
  public readonly volumeMode: PersistentVolumeMode;
  /** The auto-grow policy, if any. */
  public readonly autoGrow?: AutoGrowPolicy;

  private readonly _accessModes: PersistentVolumeAccessMode[];

  public constructor(scope: Construct, id: string, props: ResizableClaimProps) {
    super(scope, id);
    const where = `ResizableClaim ${this.node.path}`;
    const sc = props.storageClass;

    if (!sc || typeof sc.name !== 'string') {
      throw propError(where, 'storageClass', undefined, 'is missing', 'pass the storage class the volume comes from (e.g. an NfsStorageClass)');
    }
    this.storageClassName = sc.name;

    if (props.name !== undefined && !isDnsSubdomain(props.name)) {
      throw propError(where, 'name', props.name, 'is not a valid claim name',
        'use lowercase letters, digits, \'-\' and \'.\', starting and ending with a letter or digit (at most 253 characters)');
    }
    this.name = props.name ?? nameFromId(this, where, 'name');
    this.namespace = props.namespace ?? Chart.of(this).namespace ?? 'default';
    if (!isDnsLabel(this.namespace)) {
      throw propError(where, 'namespace', this.namespace, 'is not a valid namespace name',
        'use lowercase letters, digits and \'-\', starting and ending with a letter or digit (at most 63 characters)');
    }
    const labels = checkLabels(where, props.labels ?? {});
    const annotations = checkAnnotations(where, props.annotations ?? {});

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
    if (!Object.values(PersistentVolumeMode).includes(this.volumeMode)) {
      throw propError(where, 'volumeMode', this.volumeMode, 'is not a PersistentVolumeMode value', 'use PersistentVolumeMode.FILE_SYSTEM or PersistentVolumeMode.BLOCK');
    }
    if (sc.volumeModes && !sc.volumeModes.includes(this.volumeMode)) {
      throw propError(where, 'volumeMode', this.volumeMode, `is not offered by class ${sc.name} (its volumes are ${sc.volumeModes.join(' or ')})`,
        `remove volumeMode or use ${sc.volumeModes.map((m) => `PersistentVolumeMode.${m === PersistentVolumeMode.BLOCK ? 'BLOCK' : 'FILE_SYSTEM'}`).join(' or ')}, or a class that offers ${this.volumeMode} volumes`);
    }

    if (props.autoGrow) {
      if (!sc.allowVolumeExpansion) {
        throw propError(where, 'autoGrow', props.autoGrow, `is set, but class ${sc.name} does not allow volume expansion (local volumes never grow)`,
          'remove autoGrow, or use a class with allowVolumeExpansion: true');
      }
      if (sc.measuresUsage === false) {
        throw propError(where, 'autoGrow', props.autoGrow, `is set, but the provisioner of class ${sc.name} does not measure usage (usageInterval 0), so it could never fire`,
          'give the provisioner a usageInterval above 0, e.g. Duration.minutes(1), or remove autoGrow');
      }
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
      metadata: {
        name: this.name,
        namespace: this.namespace,
        ...(Object.keys(labels).length > 0 ? { labels } : {}),
        ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
      },
      spec: {
        storageClassName: sc.name,
        accessModes: [...this._accessModes],
        volumeMode: this.volumeMode,
        resources: { requests: { storage: k8s.Quantity.fromString(this.storageQuantity) } },
      },
    });

    // The class renders the volume path from these keys: without one, the volume is never
    // provisioned. Checked at synth only, so labels added through the escape hatch count.
    this.node.addValidation({ validate: () => missingClaimKeys(where, sc, resource) });

    // Two claims of one name in one namespace are one object to the API server: applying the
    // app would silently keep only the last.
    checkNowAndAtSynth(this, (app) => {
      const other = sameClaim(app, resource);
      return other ? [`${where}: name ${quote(this.name)} is already used by the PersistentVolumeClaim at ${other.node.path} in the same namespace `
        + `(${quote(resource.metadata.namespace)}): give each claim in a namespace its own name (set name, or use another construct id)`] : [];
    });
  }

  /** The claim name (cdk8s-plus `IApiResource`). */
  public get resourceName(): string | undefined {
    return this.name;
  }

  /** Access modes of the claim (a copy). */
  public get accessModes(): PersistentVolumeAccessMode[] {
    return [...this._accessModes];
  }
}

/** The label and annotation keys the class's volume path needs that the claim lacks, as errors. */
function missingClaimKeys(where: string, sc: IStorageClassRef, claim: ApiObject): string[] {
  const metadata = claim.toJson().metadata ?? {};
  const missing = (kind: 'labels' | 'annotations', keys: string[] | undefined) => (keys ?? [])
    .filter((key) => typeof metadata[kind]?.[key] !== 'string' || metadata[kind][key].length === 0)
    .map((key) => propError(where, kind, metadata[kind] ?? {}, `has no ${quote(key)}, which the volume path of class ${sc.name} is made from `
      + `(\${.PVC.${kind}.${key}}), so the volume would never be provisioned`, `add ${kind}: { ${quote(key)}: '<value>' }`).message);
  return [...missing('labels', sc.requiredClaimLabels), ...missing('annotations', sc.requiredClaimAnnotations)];
}

function checkLabels(where: string, labels: { [key: string]: string }): Record<string, string> {
  for (const [key, value] of Object.entries(labels)) {
    if (!isQualifiedName(key)) {
      throw propError(where, 'labels key', key, 'is not a valid label key', 'use [prefix/]name, e.g. "team" or "example.com/team"');
    }
    if (typeof value !== 'string' || !isLabelValue(value)) {
      throw propError(where, `labels[${quote(key)}]`, value, 'is not a valid label value', LABEL_VALUE_FIX);
    }
  }
  return { ...labels };
}

function checkAnnotations(where: string, annotations: { [key: string]: string }): Record<string, string> {
  for (const [key, value] of Object.entries(annotations)) {
    if (!isQualifiedName(key)) {
      throw propError(where, 'annotations key', key, 'is not a valid annotation key', 'use [prefix/]name, e.g. "example.com/owner"');
    }
    if (typeof value !== 'string') {
      throw propError(where, `annotations[${quote(key)}]`, value, 'is not a string', 'give annotation values as strings');
    }
    if (key.startsWith(`${PREFIX}/`)) {
      throw propError(where, 'annotations key', key, 'is one the controller writes or reads itself', 'use autoGrow for auto-grow, and a key of your own domain otherwise');
    }
  }
  return { ...annotations };
}

/** Another PersistentVolumeClaim in the app with the name and namespace of `claim`. */
function sameClaim(app: AppIndex, claim: ApiObject): ApiObject | undefined {
  return app.apiObjects('PersistentVolumeClaim')
    // An object without a namespace is applied to the context's namespace: count it as `default`.
    .find((other) => other !== claim && other.name === claim.name && (other.metadata.namespace ?? 'default') === claim.metadata.namespace);
}

function checkAccessModes(where: string, modes: PersistentVolumeAccessMode[]): PersistentVolumeAccessMode[] {
  if (!Array.isArray(modes) || modes.length === 0) {
    throw propError(where, 'accessModes', modes, 'is empty', 'give at least one PersistentVolumeAccessMode, or leave it unset for the class default');
  }
  for (const mode of modes) {
    if (!Object.values(PersistentVolumeAccessMode).includes(mode)) {
      throw propError(where, 'accessModes', mode, 'is not an PersistentVolumeAccessMode value', 'use the PersistentVolumeAccessMode enum, e.g. PersistentVolumeAccessMode.READ_WRITE_MANY');
    }
  }
  if (new Set(modes).size !== modes.length) {
    throw propError(where, 'accessModes', modes, 'has duplicates', 'list each access mode once');
  }
  if (modes.includes(PersistentVolumeAccessMode.READ_WRITE_ONCE_POD) && modes.length > 1) {
    throw propError(where, 'accessModes', modes, 'combines ReadWriteOncePod with other modes', 'Kubernetes allows ReadWriteOncePod only on its own');
  }
  return [...modes];
}

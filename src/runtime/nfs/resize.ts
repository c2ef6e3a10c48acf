/**
 * Resize decisions, as pure functions of observed objects. Kubernetes answers an edit of an
 * NFS claim's size with an `ExternalExpanding` event and nothing more: the external resizer
 * (this controller, for the PVs it provisioned) must grow the volume and write the claim's
 * status itself. The steps follow the protocol the sig-storage external-resizer uses
 * (KEP-1790, "recover from resize failure"), so `kubectl describe` and quota read the same:
 *
 * 1. mark the claim: condition `Resizing`, `allocatedResources.storage` = target,
 *    `allocatedResourceStatuses.storage` = `ControllerResizeInProgress` (resourceVersion
 *    precondition), event `Resizing`;
 * 2. apply the size to the backend (subdir mode: record it on the PV, see PV_ANNOTATIONS.sizeLimit)
 *    and patch the PV's `spec.capacity`;
 * 3. finish: `status.capacity` = target, resize conditions and the in-progress status
 *    removed, event `VolumeResizeSuccessful`. NFS has no node step.
 *
 * Each step is skipped when the objects show it done, so a crash between any two steps is
 * finished by the next run. A target above the class's `maxVolumeSize` is infeasible: the
 * claim gets `ControllerResizeInfeasible` and a `ControllerResizeError` condition until the
 * request is lowered.
 *
 * A step 2 that fails (the backend cannot grow, the API refuses the PV) leaves the claim
 * marked and adds a `ControllerResizeError` condition with the error, as kube's own resize
 * code does for a failure that may still succeed: `Resizing` and `ControllerResizeInProgress`
 * stay (the backend may be part-grown, the retry continues it). The condition goes when the
 * resize finishes, or when the user lowers the request (KEP-1790's recovery: a claim that
 * failed may retry at a smaller size, and the new mark replaces the error).
 */
import type {
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1PersistentVolumeClaimCondition,
  V1StorageClass,
} from '@kubernetes/client-node';
import { parseClassParameters } from './class-params';
import { isOurVolume } from './delete';
import { K8S, NFS_CLASS_PARAMETERS, PV_ANNOTATIONS } from '../../contract/keys';
import { formatQuantity, quantityOrUndefined } from '../../contract/quantity';

/** PVC condition types of the resize protocol. */
const CONDITIONS = {
  resizing: 'Resizing',
  fileSystemResizePending: 'FileSystemResizePending',
  controllerResizeError: 'ControllerResizeError',
  nodeResizeError: 'NodeResizeError',
} as const;

/** Values of `status.allocatedResourceStatuses.storage` this controller writes. */
const RESIZE_STATUS = {
  inProgress: 'ControllerResizeInProgress',
  infeasible: 'ControllerResizeInfeasible',
} as const;

/** Event reasons (the same as the external-resizer's). */
export const RESIZE_REASONS = {
  resizing: 'Resizing',
  succeeded: 'VolumeResizeSuccessful',
  failed: 'VolumeResizeFailed',
} as const;

const RESIZE_CONDITIONS: readonly string[] = Object.values(CONDITIONS);

/** A JSON merge patch of a claim's status subresource (metadata changes persist through it too). */
export type ClaimStatusPatch = {
  metadata?: { annotations?: Record<string, string | null> };
  status: {
    capacity?: Record<string, string>;
    conditions?: V1PersistentVolumeClaimCondition[];
    allocatedResources?: Record<string, string>;
    allocatedResourceStatuses?: Record<string, string | null> | null;
  };
};

/** A JSON merge patch of a PV. */
export type VolumePatch = {
  metadata?: { annotations?: Record<string, string> };
  spec?: { capacity?: Record<string, string> };
};

export interface ResizeInput {
  readonly claim: V1PersistentVolumeClaim;
  /** The PV named in `claim.spec.volumeName`, from the cache. */
  readonly volume?: V1PersistentVolume;
  /** The PV's StorageClass, from the cache (for maxVolumeSize). */
  readonly storageClass?: V1StorageClass;
  readonly provisionerName: string;
  readonly now: Date;
}

export interface ResizePlan {
  /** Bytes the volume grows to. */
  readonly target: bigint;
  /** `status.capacity` before the resize. */
  readonly from: bigint;
  /** Step 1, unless an earlier run already marked this target. */
  readonly mark?: ClaimStatusPatch;
  /** Step 2, unless the PV already has the target size and record. */
  readonly volume?: VolumePatch;
}

export type ResizeDecision =
  /** Not ours, not bound, or nothing to do: touch nothing, say nothing. */
  | { readonly action: 'skip'; readonly reason: string }
  /** Ours and needed, but something is wrong that the user must fix: report and retry with backoff. */
  | { readonly action: 'fail'; readonly message: string }
  /** Up to date, but an earlier resize left its status behind: remove it. */
  | { readonly action: 'clear'; readonly patch: ClaimStatusPatch }
  /**
   * The target is above the class maximum. `patch` records it on the claim (undefined when
   * the claim already says exactly this).
   */
  | { readonly action: 'infeasible'; readonly target: bigint; readonly message: string; readonly patch?: ClaimStatusPatch }
  | { readonly action: 'resize'; readonly plan: ResizePlan };

/** The `storage` entry of a resource list in bytes, undefined when unset or not a quantity. */
function storageOf(resources: { [key: string]: string } | undefined): bigint | undefined {
  const text = resources?.storage;
  return text === undefined ? undefined : quantityOrUndefined(String(text));
}

/** The claim's requested size in bytes, undefined when unset or not a quantity. */
export function requestedBytes(claim: V1PersistentVolumeClaim): bigint | undefined {
  return storageOf(claim.spec?.resources?.requests as Record<string, string> | undefined);
}

/** The claim's `status.capacity` in bytes, undefined when unset or not a quantity. */
export function capacityBytes(claim: V1PersistentVolumeClaim): bigint | undefined {
  return storageOf(claim.status?.capacity);
}

/** Conditions that belong to the resize protocol (ours or a kubelet's). */
function isResizeCondition(condition: V1PersistentVolumeClaimCondition): boolean {
  return RESIZE_CONDITIONS.includes(condition.type);
}

/** True when the claim carries resize state that a finished (or never started) resize would not. */
export function hasResizeState(claim: V1PersistentVolumeClaim): boolean {
  const status = claim.status?.allocatedResourceStatuses?.storage;
  return status === RESIZE_STATUS.inProgress || status === RESIZE_STATUS.infeasible
    || (claim.status?.conditions ?? []).some(isResizeCondition);
}

/**
 * Cheap pre-check for the informer filter: a bound claim whose request exceeds its capacity,
 * or that still carries resize state. Ownership is checked by {@link decideResize}.
 */
export function claimNeedsResizeWork(claim: V1PersistentVolumeClaim): boolean {
  if (claim.status?.phase !== 'Bound' || !claim.spec?.volumeName) return false;
  const want = requestedBytes(claim);
  const have = capacityBytes(claim);
  if (want !== undefined && have !== undefined && want > have) return true;
  return hasResizeState(claim);
}

/** Why a PV is not one this controller resizes for this claim, or undefined when it is. */
export function notOurs(claim: V1PersistentVolumeClaim, volume: V1PersistentVolume, provisionerName: string): string | undefined {
  if (!isOurVolume(volume, provisionerName)) return 'the volume was not provisioned by us';
  // A CSI volume has its own resizer; two resizers on one volume would fight.
  if (!volume.spec?.nfs) return 'the volume is not an NFS volume';
  const ref = volume.spec.claimRef;
  if (!ref?.uid || ref.uid !== claim.metadata?.uid || ref.namespace !== claim.metadata?.namespace) {
    return 'the volume is not bound to this claim';
  }
  return undefined;
}

export function decideResize(input: ResizeInput): ResizeDecision {
  const { claim, volume, storageClass, provisionerName, now } = input;
  const meta = claim.metadata ?? {};
  if (!meta.uid || !meta.name || !meta.namespace) return skip('claim has no uid, name or namespace');
  if (meta.deletionTimestamp) return skip('claim is being deleted');
  if (claim.status?.phase !== 'Bound' || !claim.spec?.volumeName) return skip('claim is not bound');
  if (!volume) return skip(`volume ${claim.spec.volumeName} is not known (yet)`);
  const foreign = notOurs(claim, volume, provisionerName);
  if (foreign) return skip(foreign);

  // 1. Needed? Compared in bytes: the API server rewrites 1024Mi as 1Gi.
  const want = requestedBytes(claim);
  if (want === undefined) return fail(`spec.resources.requests.storage ${JSON.stringify(claim.spec?.resources?.requests?.storage ?? null)} is not a size`);
  const have = capacityBytes(claim);
  if (have === undefined) return skip('claim has no status.capacity yet');
  if (want <= have) {
    return hasResizeState(claim) ? { action: 'clear', patch: clearPatch(claim) } : skip('claim has the size it asks for');
  }

  // 2. Target: an expansion in flight is finished at its size first; a later, larger request
  // is the next resize. (Lowering the request may not shrink an expansion already under way.)
  const status = claim.status?.allocatedResourceStatuses?.storage;
  const allocated = storageOf(claim.status?.allocatedResources);
  const failedBefore = (claim.status?.conditions ?? []).some((c) => c.type === CONDITIONS.controllerResizeError);
  const target = status === RESIZE_STATUS.inProgress && allocated !== undefined && allocated > have && !failedBefore ? allocated : want;

  // 3. The class maximum (read from the live class: raising it takes effect at once).
  const max = classMaximum(storageClass, provisionerName);
  if (!max.ok) return fail(max.message);
  if (max.bytes !== undefined && target > max.bytes) {
    const message = infeasibleMessage(target, max.bytes, have, storageClass!.metadata?.name ?? '');
    const recorded = status === RESIZE_STATUS.infeasible
      && (claim.status?.conditions ?? []).some((c) => c.type === CONDITIONS.controllerResizeError && c.message === message)
      && !(claim.status?.conditions ?? []).some((c) => c.type === CONDITIONS.resizing);
    return { action: 'infeasible', target, message, patch: recorded ? undefined : infeasiblePatch(claim, message, now) };
  }

  // 4. The steps still to do.
  const marked = status === RESIZE_STATUS.inProgress && allocated === target
    && (claim.status?.conditions ?? []).some((c) => c.type === CONDITIONS.resizing);
  const quantity = formatQuantity(target);
  const pvCapacity = storageOf(volume.spec?.capacity);
  const recordedLimit = volume.metadata?.annotations?.[PV_ANNOTATIONS.sizeLimit];
  const volumeDone = pvCapacity === target && recordedLimit !== undefined && quantityOrUndefined(recordedLimit) === target;
  return {
    action: 'resize',
    plan: {
      target,
      from: have,
      mark: marked ? undefined : markPatch(claim, target, now),
      volume: volumeDone ? undefined : {
        metadata: { annotations: { [PV_ANNOTATIONS.sizeLimit]: quantity } },
        spec: { capacity: { storage: quantity } },
      },
    },
  };
}

/** Step 1: `Resizing` + allocatedResources + ControllerResizeInProgress. */
function markPatch(claim: V1PersistentVolumeClaim, target: bigint, now: Date): ClaimStatusPatch {
  const existing = (claim.status?.conditions ?? []).find((c) => c.type === CONDITIONS.resizing);
  const resizing: V1PersistentVolumeClaimCondition = {
    type: CONDITIONS.resizing,
    status: 'True',
    // A repeated mark (after a crash) keeps the time the resize started.
    lastTransitionTime: existing?.lastTransitionTime ?? (now.toISOString() as unknown as Date),
  };
  return {
    status: {
      // A merge patch replaces the whole list: send every condition that stays.
      conditions: [...otherConditions(claim), resizing],
      allocatedResources: { storage: formatQuantity(target) },
      allocatedResourceStatuses: { storage: RESIZE_STATUS.inProgress },
    },
  };
}

/**
 * Step 3: the new capacity, no resize conditions, no in-progress status. `allocatedResources`
 * stays at the target (quota counts the larger of it and the request).
 */
export function finishPatch(claim: V1PersistentVolumeClaim, target: bigint): ClaimStatusPatch {
  const patch = clearPatch(claim);
  patch.status.capacity = { storage: formatQuantity(target) };
  // The kubelet skips its node step for volumes marked this way (RWX claims).
  patch.metadata = { annotations: { [K8S.nodeExpansionNotRequired]: 'true' } };
  return patch;
}

/** Resize conditions and the storage resize status removed; everything else kept. */
export function clearPatch(claim: V1PersistentVolumeClaim): ClaimStatusPatch {
  const statuses = claim.status?.allocatedResourceStatuses ?? {};
  const others = Object.keys(statuses).filter((k) => k !== 'storage');
  return {
    status: {
      conditions: otherConditions(claim),
      // Another resource's resize status (a custom key) is not ours to drop.
      allocatedResourceStatuses: others.length > 0 ? { storage: null } : null,
    },
  };
}

/**
 * A grow that failed after the mark: `ControllerResizeError` with `message` beside the
 * conditions that stay (`Resizing` among them); `allocatedResourceStatuses` is not touched, so
 * the claim stays `ControllerResizeInProgress`. Undefined when the claim says exactly this
 * already: retries that fail the same way write nothing. An error condition already present
 * keeps its lastTransitionTime (its status does not change, only its message).
 */
export function failedPatch(claim: V1PersistentVolumeClaim, message: string, now: Date): ClaimStatusPatch | undefined {
  const conditions = claim.status?.conditions ?? [];
  const existing = conditions.find((c) => c.type === CONDITIONS.controllerResizeError);
  if (existing?.status === 'True' && existing.message === message) return undefined;
  const error: V1PersistentVolumeClaimCondition = {
    type: CONDITIONS.controllerResizeError,
    status: 'True',
    lastTransitionTime: existing?.status === 'True' && existing.lastTransitionTime
      ? existing.lastTransitionTime
      : (now.toISOString() as unknown as Date),
    message,
  };
  return {
    status: {
      // In place when present, so the list keeps its order; a merge patch replaces the whole list.
      conditions: existing
        ? conditions.map((c) => (c === existing ? error : c))
        : [...conditions, error],
    },
  };
}

/** The class maximum is exceeded: `ControllerResizeInfeasible` + `ControllerResizeError`. */
function infeasiblePatch(claim: V1PersistentVolumeClaim, message: string, now: Date): ClaimStatusPatch {
  const existing = (claim.status?.conditions ?? []).find((c) => c.type === CONDITIONS.controllerResizeError);
  return {
    status: {
      conditions: [...otherConditions(claim), {
        type: CONDITIONS.controllerResizeError,
        status: 'True',
        lastTransitionTime: existing?.lastTransitionTime ?? (now.toISOString() as unknown as Date),
        message,
      }],
      allocatedResourceStatuses: { storage: RESIZE_STATUS.infeasible },
    },
  };
}

export function infeasibleMessage(target: bigint, max: bigint, have: bigint, className: string): string {
  return `cannot resize to ${formatQuantity(target)}: StorageClass "${className}" allows at most ${formatQuantity(max)} `
    + `(${NFS_CLASS_PARAMETERS.maxVolumeSize}). Lower spec.resources.requests.storage to ${formatQuantity(max)} or less `
    + `(it must stay above the current ${formatQuantity(have)}); the resize then continues`;
}

type Maximum = { readonly ok: true; readonly bytes?: bigint } | { readonly ok: false; readonly message: string };

/** The class's maxVolumeSize; no limit when the class is missing or belongs to someone else. */
export function classMaximum(storageClass: V1StorageClass | undefined, provisionerName: string): Maximum {
  if (!storageClass || storageClass.provisioner !== provisionerName) return { ok: true };
  const name = storageClass.metadata?.name ?? '';
  const params = parseClassParameters(name, storageClass.parameters);
  if (!params.ok) return { ok: false, message: `cannot check the size limit: ${params.reason}` };
  return { ok: true, bytes: params.value.maxVolumeSize };
}

function otherConditions(claim: V1PersistentVolumeClaim): V1PersistentVolumeClaimCondition[] {
  return (claim.status?.conditions ?? []).filter((c) => !isResizeCondition(c));
}

function skip(reason: string): ResizeDecision {
  return { action: 'skip', reason };
}

function fail(message: string): ResizeDecision {
  return { action: 'fail', message };
}

/**
 * autoGrow decisions, as pure functions. A `ResizableClaim` with `autoGrow` carries its
 * policy as annotations (PVC_ANNOTATIONS.autoGrow*). When the measured usage of its volume
 * reaches the threshold percentage of its capacity, the claim's request is raised by the
 * increment, never past the policy's max (nor the class's maxVolumeSize). The raised request
 * is then an ordinary resize (resize.ts): one path, one set of events and conditions.
 *
 * At the max, a Warning says so once; the annotation PVC_ANNOTATIONS.autoGrowAtMax
 * remembers it across restarts and leader changes.
 */
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { capacityBytes, hasResizeState, requestedBytes } from './resize';
import { PVC_ANNOTATIONS } from '../../contract/keys';
import { formatQuantity, quantityOrUndefined } from '../../contract/quantity';

export const AUTO_GROW_REASONS = {
  growing: 'AutoGrowing',
  atMax: 'AutoGrowMaxReached',
  invalid: 'AutoGrowPolicyInvalid',
} as const;

export interface AutoGrowPolicy {
  readonly thresholdPercent: number;
  readonly increment: bigint;
  readonly max: bigint;
}

export type PolicyResult = { readonly ok: true; readonly policy?: AutoGrowPolicy } | { readonly ok: false; readonly message: string };

/** A JSON merge patch of a claim (spec or annotations). */
export type ClaimPatch = {
  metadata?: { annotations: Record<string, string> };
  spec?: { resources: { requests: { storage: string } } };
};

export type AutoGrowDecision =
  | { readonly action: 'none'; readonly reason: string }
  /** The annotations cannot be read: say so (once), do nothing. */
  | { readonly action: 'invalid'; readonly message: string }
  /** Raise the request (send with the claim's resourceVersion: never over a user's edit). */
  | { readonly action: 'grow'; readonly from: bigint; readonly to: bigint; readonly patch: ClaimPatch; readonly message: string }
  /** Full at the max: write the marker, then warn. */
  | { readonly action: 'at-max'; readonly patch: ClaimPatch; readonly message: string };

/** Reads the policy annotations; none of them means no policy. */
export function readPolicy(claim: V1PersistentVolumeClaim): PolicyResult {
  const a = claim.metadata?.annotations ?? {};
  const texts = [a[PVC_ANNOTATIONS.autoGrowThresholdPercent], a[PVC_ANNOTATIONS.autoGrowIncrement], a[PVC_ANNOTATIONS.autoGrowMax]];
  if (texts.every((t) => t === undefined)) return { ok: true };
  const [thresholdText, incrementText, maxText] = texts;
  const problems: string[] = [];
  const threshold = thresholdText !== undefined && /^\d{1,2}$/.test(thresholdText) ? Number(thresholdText) : NaN;
  if (!(threshold >= 1 && threshold <= 99)) {
    problems.push(`${PVC_ANNOTATIONS.autoGrowThresholdPercent} is ${JSON.stringify(thresholdText ?? null)}, not a whole percentage from 1 to 99`);
  }
  const increment = quantityOrUndefined(incrementText);
  if (increment === undefined || increment <= 0n) {
    problems.push(`${PVC_ANNOTATIONS.autoGrowIncrement} is ${JSON.stringify(incrementText ?? null)}, not a positive quantity such as 1Gi`);
  }
  const max = quantityOrUndefined(maxText);
  if (max === undefined || max <= 0n) {
    problems.push(`${PVC_ANNOTATIONS.autoGrowMax} is ${JSON.stringify(maxText ?? null)}, not a positive quantity such as 10Gi`);
  }
  if (problems.length > 0) return { ok: false, message: `autoGrow is off for this claim: ${problems.join('; ')}` };
  return { ok: true, policy: { thresholdPercent: threshold, increment: increment!, max: max! } };
}

export interface AutoGrowInput {
  readonly claim: V1PersistentVolumeClaim;
  /** Measured used bytes of the claim's volume (a lower bound is fine: growth never overshoots). */
  readonly used: bigint;
  /** The class's maxVolumeSize, if it has one. */
  readonly classMax?: bigint;
}

export function decideAutoGrow(input: AutoGrowInput): AutoGrowDecision {
  const { claim, used, classMax } = input;
  const read = readPolicy(claim);
  if (!read.ok) return { action: 'invalid', message: read.message };
  const policy = read.policy;
  if (!policy) return none('no autoGrow policy');
  if (claim.status?.phase !== 'Bound' || claim.metadata?.deletionTimestamp) return none('claim is not bound');
  const want = requestedBytes(claim);
  const have = capacityBytes(claim);
  if (want === undefined || have === undefined || have === 0n) return none('claim has no request or capacity');
  // One step at a time: the next is decided against the capacity the last one produced.
  if (want > have || hasResizeState(claim)) return none('a resize is under way or stuck');
  if (used * 100n < BigInt(policy.thresholdPercent) * have) return none('below the threshold');

  const cap = classMax !== undefined && classMax < policy.max ? classMax : policy.max;
  const usage = `${percent(used, have)}% full (${approximate(used)} of ${formatQuantity(have)}, threshold ${policy.thresholdPercent}%)`;
  if (want >= cap) {
    const capText = formatQuantity(cap);
    if (claim.metadata?.annotations?.[PVC_ANNOTATIONS.autoGrowAtMax] === capText) return none('already warned at this max');
    const limit = cap < policy.max ? `the class's maxVolumeSize ${capText}` : `autoGrow.max ${capText}`;
    return {
      action: 'at-max',
      patch: { metadata: { annotations: { [PVC_ANNOTATIONS.autoGrowAtMax]: capText } } },
      message: `volume is ${usage} and the request has reached ${limit}; autoGrow stops here: free space, or raise the max`,
    };
  }
  const to = want + policy.increment < cap ? want + policy.increment : cap;
  return {
    action: 'grow',
    from: want,
    to,
    patch: { spec: { resources: { requests: { storage: formatQuantity(to) } } } },
    // The app that applied the claim still says the old size; applied again it would be a shrink.
    message: `volume is ${usage}: raising the request from ${formatQuantity(want)} to ${formatQuantity(to)} (max ${formatQuantity(cap)}); `
      + `set storage to ${formatQuantity(to)} in the app that applies this claim, or its next apply is refused as a shrink`,
  };
}

/** One decimal, rounded down: 74.9% is not shown as 75%. */
function percent(part: bigint, whole: bigint): string {
  const tenths = (part * 1000n) / whole;
  return `${tenths / 10n}.${tenths % 10n}`;
}

const UNITS: ReadonlyArray<readonly [string, bigint]> = ['Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'].map((s, i) => [s, 1024n ** BigInt(i + 1)] as const).reverse();

/** Bytes for a person: one decimal in the largest binary unit (`819.2Mi`), rounded down. */
export function approximate(bytes: bigint): string {
  const unit = UNITS.find(([, size]) => bytes >= size);
  if (!unit) return `${bytes}`;
  const tenths = (bytes * 10n) / unit[1];
  return `${tenths / 10n}${tenths % 10n === 0n ? '' : `.${tenths % 10n}`}${unit[0]}`;
}

function none(reason: string): AutoGrowDecision {
  return { action: 'none', reason };
}

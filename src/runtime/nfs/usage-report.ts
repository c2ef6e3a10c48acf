/**
 * When to write a volume's measured usage onto its claim. Every write is an update event
 * for every watcher of claims, so a value that moved a little is not written: only a
 * change of at least `minChangePercent` of the capacity, or a value older than
 * `refreshMs` (so the time shows the measurement is still alive).
 */
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import { PVC_ANNOTATIONS } from '../../contract/keys';

export interface UsageReportOptions {
  /** @default 1 (percent of the capacity) */
  readonly minChangePercent?: number;
  /** @default 3600000 (an hour) */
  readonly refreshMs?: number;
}

export type UsageAnnotationPatch = {
  metadata: { annotations: Record<string, string> };
};

/** The annotations to write, or undefined when the claim's current ones are close enough. */
export function usageAnnotationPatch(
  claim: V1PersistentVolumeClaim,
  used: bigint,
  measuredAt: Date,
  capacity: bigint | undefined,
  options: UsageReportOptions = {},
): UsageAnnotationPatch | undefined {
  const annotations = claim.metadata?.annotations ?? {};
  const patch = {
    metadata: {
      annotations: {
        [PVC_ANNOTATIONS.usedBytes]: used.toString(),
        [PVC_ANNOTATIONS.usedMeasuredAt]: measuredAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
    },
  };
  const old = parseBytes(annotations[PVC_ANNOTATIONS.usedBytes]);
  const oldAt = Date.parse(annotations[PVC_ANNOTATIONS.usedMeasuredAt] ?? '');
  if (old === undefined || Number.isNaN(oldAt)) return patch;
  if (measuredAt.getTime() - oldAt >= (options.refreshMs ?? 3_600_000)) return patch;
  const change = used > old ? used - old : old - used;
  if (change === 0n) return undefined;
  if (capacity === undefined || capacity === 0n) return patch;
  // change / capacity >= percent / 100, in integers (percent may be fractional: scale by 1000).
  const permille = BigInt(Math.round((options.minChangePercent ?? 1) * 1000));
  return change * 100_000n >= capacity * permille ? patch : undefined;
}

function parseBytes(text: string | undefined): bigint | undefined {
  return text !== undefined && /^\d{1,20}$/.test(text) ? BigInt(text) : undefined;
}

/**
 * Waiting for states, never for durations: the e2e machines are shared and
 * slow at times, so every wait has a generous bound and polls until the state
 * is reached. `E2E_TIMEOUT_SCALE` multiplies every default bound (e.g. 2 on a
 * very slow machine).
 */
import { Kube, KubeObject, paths } from './kube';
import { waitFor } from '../harness';

const SCALE = Number(process.env.E2E_TIMEOUT_SCALE ?? '1') || 1;

/** Default bound of a wait (2 minutes, scaled). */
export const WAIT_MS = 120_000 * SCALE;

/** Scales a bound by E2E_TIMEOUT_SCALE. */
export function scaled(ms: number): number {
  return ms * SCALE;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
}

/**
 * Polls `check` until it returns something other than undefined/false; errors
 * thrown by `check` count as "not yet" (the API server may be restarting).
 */
export function eventually<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  options: WaitOptions & { describe?: () => string } = {},
): Promise<T> {
  return waitFor(what, check, { timeoutMs: options.timeoutMs ?? WAIT_MS, intervalMs: options.intervalMs ?? 250, onTimeout: options.describe });
}

/** Waits until the object at `path` satisfies `predicate`; returns it. */
export async function waitForObject(
  kube: Kube,
  path: string,
  predicate: (obj: KubeObject) => boolean,
  options: WaitOptions = {},
): Promise<KubeObject> {
  let last: KubeObject | undefined;
  return eventually(`${path} to reach the expected state`, async () => {
    last = await kube.get(path);
    return last !== undefined && predicate(last) ? last : undefined;
  }, { ...options, describe: () => `last seen: ${JSON.stringify(last)?.slice(0, 3000)}` });
}

/** Waits until the object at `path` no longer exists. */
export async function waitForGone(kube: Kube, path: string, options: WaitOptions = {}): Promise<void> {
  let last: KubeObject | undefined;
  await eventually(`${path} to be gone`, async () => {
    last = await kube.get(path);
    return last === undefined;
  }, { ...options, describe: () => `still there: ${JSON.stringify(last)?.slice(0, 3000)}` });
}

/** Waits until the claim is Bound; returns it. */
export function waitForClaimBound(kube: Kube, namespace: string, name: string, options: WaitOptions = {}): Promise<KubeObject> {
  return waitForObject(kube, paths.pvc(namespace, name), (c) => c.status?.phase === 'Bound', options);
}

/** Waits until every claim in the namespace (or those `filter` keeps) is Bound; returns them. */
export async function waitForClaimsBound(
  kube: Kube,
  namespace: string,
  options: WaitOptions & { filter?: (c: KubeObject) => boolean; expectCount?: number } = {},
): Promise<KubeObject[]> {
  let pending: string[] = [];
  return eventually(`the claims in ${namespace} to be Bound`, async () => {
    const claims = (await kube.list(paths.pvc(namespace))).filter((c) => options.filter?.(c) ?? true);
    pending = claims.filter((c) => c.status?.phase !== 'Bound').map((c) => `${c.metadata.name} (${c.status?.phase})`);
    if (options.expectCount !== undefined && claims.length !== options.expectCount) {
      pending.push(`${claims.length} of ${options.expectCount} claims exist`);
      return undefined;
    }
    return pending.length === 0 ? claims : undefined;
  }, { ...options, describe: () => `not Bound: ${pending.slice(0, 30).join(', ')}${pending.length > 30 ? ` and ${pending.length - 30} more` : ''}` });
}

/** Waits for an event with this reason on the object; returns it. */
export function waitForEvent(kube: Kube, namespace: string, objectName: string, reason: string, options: WaitOptions = {}): Promise<KubeObject> {
  let seen: string[] = [];
  return eventually(`a ${reason} event on ${namespace}/${objectName}`, async () => {
    const events = await kube.eventsFor(namespace, objectName);
    seen = events.map((e) => `${e.reason}: ${e.message}`);
    return events.find((e) => e.reason === reason);
  }, { ...options, describe: () => `events seen: ${seen.join(' | ') || 'none'}` });
}

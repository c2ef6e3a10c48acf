/**
 * Watches PVs by label and tells when N of them exist and when N are Available
 * (see object-watch.ts).
 */
import { watchObjects } from './object-watch';

export interface AvailableWatch {
  /** Resolves with Date.now() at the event that made `count` PVs Available. */
  readonly done: Promise<number>;
  /** Resolves with Date.now() when `count` PVs exist (in any phase). */
  readonly created: Promise<number>;
  /** How many are Available now. */
  available(): number;
  stop(): void;
}

export async function watchAvailable(kubeconfig: string, labelSelector: string, count: number): Promise<AvailableWatch> {
  const watch = await watchObjects(kubeconfig, '/api/v1/persistentvolumes', { labelSelector });
  return {
    done: watch.until((p) => p.count('Available') >= count),
    created: watch.until((p) => p.size >= count),
    available: () => watch.count('Available'),
    stop: () => watch.stop(),
  };
}

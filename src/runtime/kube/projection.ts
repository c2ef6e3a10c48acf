/**
 * What the informer caches keep of an object: everything but `metadata.managedFields`.
 *
 * managedFields is the API server's record of which field manager owns which field, a
 * nested object per manager that is often larger than the rest of a PV or claim; no
 * decision reads it (test/runtime/kube/projection.test.ts holds the runtime's sources to
 * that), and the caches hold every PV and claim of the cluster.
 */
import type { KubeObject } from '../ports/list-watch';

/** Drops the fields no decision reads; returns the same object. */
export function project<T extends KubeObject>(obj: T): T {
  const metadata = obj.metadata as { managedFields?: unknown } | undefined;
  if (metadata && 'managedFields' in metadata) delete metadata.managedFields;
  return obj;
}

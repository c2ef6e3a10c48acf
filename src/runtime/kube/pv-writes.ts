/**
 * Creating and deleting a PV, as both the NFS provisioner and the local agent do it: a 409
 * on create means an earlier attempt made it; a delete carries preconditions so a newer PV
 * that reuses the name, or one that changed since it was looked at, is never deleted.
 */
import type { CoreV1Api, V1PersistentVolume } from '@kubernetes/client-node';
import { isConflict, isNotFound } from '../core/errors';

/** Creates the PV; `exists` when a PV of that name is already there (409 AlreadyExists). */
export async function createPv(core: CoreV1Api, pv: V1PersistentVolume): Promise<'created' | 'exists'> {
  try {
    await core.createPersistentVolume({ body: pv });
    return 'created';
  } catch (error) {
    if (isConflict(error)) return 'exists';
    throw error;
  }
}

/** What the PV must still be for the delete to happen (uid: the same object; resourceVersion: unchanged since). */
export interface PvPreconditions {
  readonly uid?: string;
  readonly resourceVersion?: string;
}

/** Deletes the PV; `gone` when it no longer exists (404), `conflict` when a precondition failed (409). */
export async function deletePv(core: CoreV1Api, name: string, preconditions: PvPreconditions): Promise<'deleted' | 'gone' | 'conflict'> {
  const given = preconditions.uid !== undefined || preconditions.resourceVersion !== undefined;
  try {
    await core.deletePersistentVolume({ name, body: given ? { preconditions: { ...preconditions } } : undefined });
    return 'deleted';
  } catch (error) {
    if (isNotFound(error)) return 'gone';
    if (isConflict(error)) return 'conflict';
    throw error;
  }
}

/**
 * Creating and deleting a PV, as both the NFS provisioner and the local agent do it: a 409
 * on create means an earlier attempt made it; a delete carries preconditions so a newer PV
 * that reuses the name, or one that changed since it was looked at, is never deleted.
 * Plain JSON on the shared pool (json-request.ts): the answers are not read.
 */
import type { V1PersistentVolume } from '@kubernetes/client-node';
import type { JsonRequester } from './json-request';
import { isConflict, isNotFound } from '../core/errors';

const PVS = '/api/v1/persistentvolumes';

/** Creates the PV; `exists` when a PV of that name is already there (409 AlreadyExists). */
export async function createPv(api: JsonRequester, pv: V1PersistentVolume): Promise<'created' | 'exists'> {
  try {
    await api.request('POST', PVS, { apiVersion: 'v1', kind: 'PersistentVolume', ...pv });
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
export async function deletePv(api: JsonRequester, name: string, preconditions: PvPreconditions): Promise<'deleted' | 'gone' | 'conflict'> {
  const given = preconditions.uid !== undefined || preconditions.resourceVersion !== undefined;
  try {
    await api.request('DELETE', `${PVS}/${encodeURIComponent(name)}`, given ? { preconditions: { ...preconditions } } : undefined);
    return 'deleted';
  } catch (error) {
    if (isNotFound(error)) return 'gone';
    if (isConflict(error)) return 'conflict';
    throw error;
  }
}

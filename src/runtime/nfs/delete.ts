/**
 * Delete decisions. Only what was recorded on the PV when it was provisioned counts (the
 * directory and the onDelete policy in our annotations); the live StorageClass is never
 * read, because it can be edited, deleted or recreated with other parameters long after
 * the data was written. The record is cross-checked against the PV's NFS source so an
 * edited annotation cannot aim a delete at another claim's directory.
 */
import type { V1PersistentVolume } from '@kubernetes/client-node';
import { ProvisionerIdentity, volumePath } from './provision';
import { K8S, PV_ANNOTATIONS } from '../../contract/keys';
import { resolveUnderRoot } from '../../contract/path-template';
import { ON_DELETE_VALUES, OnDeleteValue } from '../../contract/values';

export type DeleteDecision =
  | { readonly action: 'skip'; readonly reason: string }
  /** Ours and due, but the record cannot be trusted: report it on the PV, touch nothing. */
  | { readonly action: 'fail'; readonly message: string }
  | { readonly action: 'delete'; readonly relativePath: string; readonly onDelete: OnDeleteValue };

/** True for PVs this provisioner created (by the lib's `provisioned-by` annotation). */
export function isOurVolume(pv: V1PersistentVolume, provisionerName: string): boolean {
  return pv.metadata?.annotations?.[K8S.provisionedBy] === provisionerName;
}

/** The directory recorded on one of our PVs, if it is well-formed. */
export function recordedDirectory(pv: V1PersistentVolume): string | undefined {
  const dir = pv.metadata?.annotations?.[PV_ANNOTATIONS.directory];
  if (!dir) return undefined;
  try {
    resolveUnderRoot('/', dir);
  } catch {
    return undefined;
  }
  return dir.split('/').every((s) => s !== '' && s !== '.' && s !== '..') ? dir : undefined;
}

export function decideDelete(pv: V1PersistentVolume, identity: ProvisionerIdentity): DeleteDecision {
  const name = pv.metadata?.name ?? '?';
  if (!isOurVolume(pv, identity.provisionerName)) return { action: 'skip', reason: 'not provisioned by us' };
  if (pv.metadata?.deletionTimestamp) return { action: 'skip', reason: 'volume is already being deleted' };
  if (pv.status?.phase !== 'Released') return { action: 'skip', reason: `volume is ${pv.status?.phase ?? 'new'}` };
  if (pv.spec?.persistentVolumeReclaimPolicy !== 'Delete') return { action: 'skip', reason: 'reclaim policy is not Delete' };

  const relativePath = recordedDirectory(pv);
  const fix = `nothing was touched on the export; check the data and delete PersistentVolume ${name} by hand`;
  if (!relativePath) {
    return { action: 'fail', message: `annotation ${PV_ANNOTATIONS.directory} is missing or not a plain relative path: ${fix}` };
  }
  const onDelete = pv.metadata?.annotations?.[PV_ANNOTATIONS.onDelete];
  if (!onDelete || !(ON_DELETE_VALUES as readonly string[]).includes(onDelete)) {
    return { action: 'fail', message: `annotation ${PV_ANNOTATIONS.onDelete} is ${JSON.stringify(onDelete ?? null)}, not one of ${ON_DELETE_VALUES.join(', ')}: ${fix}` };
  }
  const nfs = pv.spec?.nfs;
  const expected = volumePath(identity.exportPath, relativePath);
  if (!nfs || nfs.server !== identity.server || nfs.path !== expected) {
    return {
      action: 'fail',
      message: `the PV's NFS source (${nfs ? `${nfs.server}:${nfs.path}` : 'none'}) does not match its recorded directory (${identity.server}:${expected}): ${fix}`,
    };
  }
  return { action: 'delete', relativePath, onDelete: onDelete as OnDeleteValue };
}

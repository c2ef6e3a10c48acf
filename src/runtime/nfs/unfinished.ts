/**
 * What to do with a provisioning note (see VolumeFs.recordUnfinished): a volume whose
 * directory may have been made while its PV was not, because a controller was killed in
 * between or its PV create failed. A pure function of what the caches show; the
 * controller carries the decision out.
 *
 * The note must outlive the moment it is looked at: a claim still waiting when the notes
 * are swept can be deleted a second later, before its PV is made. So a waiting claim's
 * note is not just left alone: the controller takes it over ('track') exactly as if it had
 * made the directory itself, and removes the directory when that claim goes away.
 */
import type { V1PersistentVolumeClaim } from '@kubernetes/client-node';
import type { Owner } from './directory-index';
import { requestedProvisioner } from './provision';
import type { UnfinishedVolume } from '../ports/volume-fs';

export type UnfinishedDecision =
  /** This process is provisioning the volume right now: that run owns the note. */
  | { readonly action: 'skip'; readonly reason: string }
  /** The claim still waits for this volume: its provisioning reuses the directory; its deletion removes it. */
  | { readonly action: 'track'; readonly relativePath: string; readonly namespace: string; readonly name: string }
  /** Nothing of ours is left to clean up (the PV exists, the note was never completed, or the directory belongs to another volume now): drop the note only. */
  | { readonly action: 'forget'; readonly reason: string }
  /** No claim will use the directory: remove it if nothing was written to it, then drop the note. */
  | { readonly action: 'remove'; readonly relativePath: string; readonly reason: string };

export interface UnfinishedInput {
  readonly note: UnfinishedVolume;
  /** The claim the volume is for (PV name `pvc-<claim uid>`), if the claim cache holds it. */
  readonly claim?: V1PersistentVolumeClaim;
  /** The PV exists: in the cache, or created by this process and not shown by the cache yet. */
  readonly volumeExists: boolean;
  /** This process is provisioning the volume at this moment. */
  readonly inFlight: boolean;
  /** Another volume whose directory overlaps the note's (from the directory index). */
  readonly owner?: Owner;
  readonly provisionerName: string;
}

export function decideUnfinished(input: UnfinishedInput): UnfinishedDecision {
  const { note, claim, owner } = input;
  if (input.inFlight) return { action: 'skip', reason: 'the volume is being provisioned now' };
  if (input.volumeExists) return forget('its PersistentVolume exists');
  const relativePath = note.relativePath;
  if (relativePath === undefined) return forget('the note was never completed, so nothing was made for it');
  if (owner) return forget(`PersistentVolume ${owner.pvName} uses ${owner.relativePath} now`);

  const meta = claim?.metadata;
  if (!claim || !meta?.namespace || !meta.name) return remove(relativePath, 'the claim is gone');
  if (meta.deletionTimestamp) return remove(relativePath, 'the claim is being deleted');
  if (claim.spec?.volumeName) return remove(relativePath, `the claim is bound to PersistentVolume ${claim.spec.volumeName}`);
  if (requestedProvisioner(claim) !== input.provisionerName) return remove(relativePath, 'the claim waits for another provisioner now');
  return { action: 'track', relativePath, namespace: meta.namespace, name: meta.name };
}

function forget(reason: string): UnfinishedDecision {
  return { action: 'forget', reason };
}

function remove(relativePath: string, reason: string): UnfinishedDecision {
  return { action: 'remove', relativePath, reason };
}

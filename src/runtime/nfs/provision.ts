/**
 * Provisioning decisions, as pure functions of observed objects: should this claim get a
 * volume from us, and what exactly is that volume. The sig-storage external-provisioner
 * contract is followed (annotations, `pvc-<uid>` names, WaitForFirstConsumer) so
 * `kubectl describe` reads the same as with other provisioners.
 */
import * as path from 'path';
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { parseClassParameters } from './class-params';
import { K8S, PV_ANNOTATIONS } from '../../contract/keys';
import { renderPath } from '../../contract/path-template';
import { formatQuantity, parseQuantity } from '../../contract/quantity';
import type { OnDeleteValue } from '../../contract/values';

/** Legacy claim annotations still honoured (old clients set them instead of the spec fields). */
const LEGACY = {
  storageClass: 'volume.beta.kubernetes.io/storage-class',
  alphaSelectedNode: 'volume.alpha.kubernetes.io/selected-node',
} as const;

export interface ProvisionerIdentity {
  readonly provisionerName: string;
  /** NFS server host for PVs. */
  readonly server: string;
  /** Exported path that the root corresponds to. */
  readonly exportPath: string;
}

export interface ProvisionPlan {
  readonly pvName: string;
  readonly className: string;
  readonly relativePath: string;
  readonly directoryMode: number;
  readonly onDelete: OnDeleteValue;
  /** The claim's storage request as written (the PV capacity). */
  readonly capacity: string;
}

export type ProvisionDecision =
  /** Not ours, not yet, or already done: nothing to do and nothing to report. */
  | { readonly action: 'skip'; readonly reason: string }
  /** Ours, but it cannot be provisioned as asked: report `message` on the claim and retry later. */
  | { readonly action: 'fail'; readonly message: string }
  | { readonly action: 'provision'; readonly plan: ProvisionPlan };

export function volumeNameFor(claim: V1PersistentVolumeClaim): string {
  return `pvc-${claim.metadata?.uid}`;
}

export function claimClassName(claim: V1PersistentVolumeClaim): string | undefined {
  return claim.spec?.storageClassName ?? claim.metadata?.annotations?.[LEGACY.storageClass];
}

/** The provisioner a claim waits for (GA annotation, then the beta one). */
export function requestedProvisioner(claim: V1PersistentVolumeClaim): string | undefined {
  const a = claim.metadata?.annotations ?? {};
  return a[K8S.storageProvisioner] ?? a[K8S.betaStorageProvisioner];
}

export interface ProvisionInput {
  readonly claim: V1PersistentVolumeClaim;
  /** The claim's StorageClass from the cache, if it exists. */
  readonly storageClass?: V1StorageClass;
  /** The PV named `pvc-<claim uid>` from the cache, if it exists. */
  readonly existingVolume?: V1PersistentVolume;
  readonly provisionerName: string;
}

export function decideProvision(input: ProvisionInput): ProvisionDecision {
  const { claim, storageClass, existingVolume, provisionerName } = input;
  const meta = claim.metadata ?? {};
  if (!meta.uid || !meta.name || !meta.namespace) return skip('claim has no uid, name or namespace');
  if (meta.deletionTimestamp) return skip('claim is being deleted');
  if (claim.spec?.volumeName) return skip('claim is already bound to a volume');
  if (claim.status?.phase && claim.status.phase !== 'Pending') return skip(`claim is ${claim.status.phase}`);
  if (requestedProvisioner(claim) !== provisionerName) return skip('claim waits for another provisioner');

  const className = claimClassName(claim);
  if (!className) return fail('the claim names no StorageClass: set spec.storageClassName');
  if (!storageClass) return fail(`StorageClass "${className}" does not exist: create it or change spec.storageClassName`);
  if (storageClass.provisioner !== provisionerName) return skip(`StorageClass "${className}" belongs to ${storageClass.provisioner}`);

  const pvName = volumeNameFor(claim);
  if (existingVolume) return skip(`volume ${pvName} already exists`);

  if (storageClass.volumeBindingMode === 'WaitForFirstConsumer') {
    const node = meta.annotations?.[K8S.selectedNode] || meta.annotations?.[LEGACY.alphaSelectedNode];
    if (!node) return skip('waiting for a pod to be scheduled (WaitForFirstConsumer)');
  }

  if (claim.spec?.selector) return fail('claims with spec.selector are not supported by dynamic provisioning: remove the selector');
  if (claim.spec?.volumeMode === 'Block') return fail('NFS volumes are file systems: remove volumeMode: Block or use another StorageClass');
  if (claim.spec?.dataSource || claim.spec?.dataSourceRef) {
    return fail('this provisioner cannot pre-populate a volume (spec.dataSource): remove the data source or copy the data in a pod');
  }

  const capacity = claim.spec?.resources?.requests?.storage;
  if (capacity === undefined) return fail('the claim has no spec.resources.requests.storage: set a size');
  let requested: bigint;
  try {
    requested = parseQuantity(String(capacity));
  } catch (error) {
    return fail(`spec.resources.requests.storage: ${(error as Error).message}`);
  }

  const params = parseClassParameters(className, storageClass.parameters);
  if (!params.ok) return fail(params.reason);
  const { pathPattern, onDelete, directoryMode, maxVolumeSize } = params.value;
  if (maxVolumeSize !== undefined && requested > maxVolumeSize) {
    return fail(`the claim requests ${capacity}, more than StorageClass "${className}" allows (maxVolumeSize ${formatQuantity(maxVolumeSize)}): request less`);
  }

  const rendered = renderPath(pathPattern, {
    namespace: meta.namespace,
    name: meta.name,
    pvName,
    labels: meta.labels,
    annotations: meta.annotations,
  });
  if (!rendered.ok) return fail(rendered.reason);

  return {
    action: 'provision',
    plan: { pvName, className, relativePath: rendered.relativePath, directoryMode, onDelete, capacity: String(capacity) },
  };
}

/** The PV for a plan: NFS source, claimRef, and the annotations delete will trust. */
export function buildVolume(
  claim: V1PersistentVolumeClaim,
  storageClass: V1StorageClass,
  plan: ProvisionPlan,
  identity: ProvisionerIdentity,
): V1PersistentVolume {
  const meta = claim.metadata!;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name: plan.pvName,
      annotations: {
        [K8S.provisionedBy]: identity.provisionerName,
        [PV_ANNOTATIONS.directory]: plan.relativePath,
        [PV_ANNOTATIONS.onDelete]: plan.onDelete,
      },
    },
    spec: {
      capacity: { storage: plan.capacity },
      accessModes: claim.spec?.accessModes ?? [],
      persistentVolumeReclaimPolicy: storageClass.reclaimPolicy ?? 'Delete',
      storageClassName: plan.className,
      ...(storageClass.mountOptions?.length ? { mountOptions: [...storageClass.mountOptions] } : {}),
      volumeMode: 'Filesystem',
      nfs: { server: identity.server, path: volumePath(identity.exportPath, plan.relativePath), readOnly: false },
      claimRef: {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        namespace: meta.namespace,
        name: meta.name,
        uid: meta.uid,
        resourceVersion: meta.resourceVersion,
      },
    },
  };
}

/** The server-side path of a volume directory. */
export function volumePath(exportPath: string, relativePath: string): string {
  return path.posix.join(exportPath, relativePath);
}

function skip(reason: string): ProvisionDecision {
  return { action: 'skip', reason };
}

function fail(message: string): ProvisionDecision {
  return { action: 'fail', message };
}

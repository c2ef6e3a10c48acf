/**
 * Objects for the resize, usage and autoGrow tests: a claim bound to one of our PVs, in any
 * state of the resize protocol.
 */
import type { V1PersistentVolume, V1PersistentVolumeClaim, V1PersistentVolumeClaimCondition, V1StorageClass } from '@kubernetes/client-node';
import { IDENTITY, PROVISIONER, storageClass, volume } from './fixtures';

export const NOW = new Date('2030-01-02T03:04:05.000Z');

export interface BoundOptions {
  name?: string;
  namespace?: string;
  uid?: string;
  request?: string;
  capacity?: string;
  allocated?: string;
  resizeStatus?: string;
  conditions?: V1PersistentVolumeClaimCondition[];
  annotations?: Record<string, string>;
  resourceVersion?: string;
  className?: string;
}

/** A Bound claim (request = capacity unless given) and the PV of ours it is bound to. */
export function bound(options: BoundOptions = {}): { claim: V1PersistentVolumeClaim; pv: V1PersistentVolume } {
  const name = options.name ?? 'data';
  const namespace = options.namespace ?? 'team-a';
  const uid = options.uid ?? `uid-${namespace}-${name}`;
  const pvName = `pvc-${uid}`;
  const capacity = options.capacity ?? '1Gi';
  const className = options.className ?? 'nfs';
  const claim: V1PersistentVolumeClaim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace, uid, resourceVersion: options.resourceVersion ?? '10', annotations: { ...options.annotations } },
    spec: {
      storageClassName: className,
      accessModes: ['ReadWriteMany'],
      resources: { requests: { storage: options.request ?? capacity } },
      volumeName: pvName,
    },
    status: {
      phase: 'Bound',
      accessModes: ['ReadWriteMany'],
      capacity: { storage: capacity },
      ...(options.allocated ? { allocatedResources: { storage: options.allocated } } : {}),
      ...(options.resizeStatus ? { allocatedResourceStatuses: { storage: options.resizeStatus } } : {}),
      ...(options.conditions ? { conditions: options.conditions } : {}),
    },
  };
  const pv = volume(pvName, `${namespace}-${name}`, 'ARCHIVE', 'Bound');
  pv.spec!.capacity = { storage: capacity };
  pv.spec!.storageClassName = className;
  pv.spec!.claimRef = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name, uid };
  return { claim, pv };
}

/** Our StorageClass, with a maxVolumeSize when given. */
export function classWithMax(max?: string, name = 'nfs'): V1StorageClass {
  return storageClass({ name, ...(max ? { parameters: { maxVolumeSize: max } } : {}) });
}

export { IDENTITY, PROVISIONER };

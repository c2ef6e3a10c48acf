import type { V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { K8S, PV_ANNOTATIONS } from '../../../src/contract/keys';

export const PROVISIONER = 'example.com/nfs';
export const IDENTITY = { provisionerName: PROVISIONER, server: '10.0.0.5', exportPath: '/exports/k8s' };

let counter = 0;

/** A Pending claim that waits for our provisioner, with overrides merged in. */
export function claim(overrides: {
  name?: string;
  namespace?: string;
  uid?: string;
  className?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  spec?: Partial<NonNullable<V1PersistentVolumeClaim['spec']>>;
  provisioner?: string | null;
} = {}): V1PersistentVolumeClaim {
  const uid = overrides.uid ?? `0000-${++counter}`;
  const provisioner = overrides.provisioner === undefined ? PROVISIONER : overrides.provisioner;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: {
      name: overrides.name ?? 'data',
      namespace: overrides.namespace ?? 'team-a',
      uid,
      resourceVersion: '7',
      labels: overrides.labels,
      annotations: { ...(provisioner ? { [K8S.storageProvisioner]: provisioner } : {}), ...overrides.annotations },
    },
    spec: {
      storageClassName: overrides.className ?? 'nfs',
      accessModes: ['ReadWriteMany'],
      resources: { requests: { storage: '1Gi' } },
      ...overrides.spec,
    },
    status: { phase: 'Pending' },
  };
}

export function storageClass(overrides: Partial<V1StorageClass> & { name?: string } = {}): V1StorageClass {
  const { name, ...rest } = overrides;
  return {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: name ?? 'nfs' },
    provisioner: PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
    ...rest,
  };
}

/** One of our PVs in the given phase, recording `directory` and `onDelete`. */
export function volume(name: string, directory: string, onDelete: string, phase = 'Released', overrides: Partial<V1PersistentVolume> = {}): V1PersistentVolume {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name,
      uid: `uid-${name}`,
      annotations: {
        [K8S.provisionedBy]: PROVISIONER,
        [PV_ANNOTATIONS.directory]: directory,
        [PV_ANNOTATIONS.onDelete]: onDelete,
      },
    },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteMany'],
      persistentVolumeReclaimPolicy: 'Delete',
      storageClassName: 'nfs',
      nfs: { server: IDENTITY.server, path: `${IDENTITY.exportPath}/${directory}` },
    },
    status: { phase },
    ...overrides,
  };
}

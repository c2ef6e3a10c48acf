/**
 * The shape of a published local PV: its deterministic name, its labels and the identity
 * annotations cleanup verifies, and reading that record back.
 */
import { createHash } from 'crypto';
import type { V1PersistentVolume } from '@kubernetes/client-node';
import type { DeviceIdentity } from './device';
import type { ScannedEntry } from './scan';
import type { LocalClassConfig } from '../../shared/controller-config';
import { K8S, LABELS, LOCAL_PV_ANNOTATIONS, PREFIX } from '../../shared/keys';

/** The node an agent runs on, as discovery needs it. */
export interface LocalNode {
  /** `metadata.name`. */
  readonly name: string;
  /** The value of its `kubernetes.io/hostname` label (not assumed equal to the name). */
  readonly hostname: string;
}

function shortHash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 16);
}

/**
 * `local-` + 16 hex digits of sha256(node, class, entry): the same entry on the same node
 * always maps to the same PV, so a wiped volume comes back under its old name.
 */
export function localPvName(nodeName: string, storageClassName: string, entryName: string): string {
  return `local-${shortHash(nodeName, storageClassName, entryName)}`;
}

/**
 * The `pv.kubernetes.io/provisioned-by` value of one node's agent. It must not start with
 * `kubernetes.io/`: the PV controller then leaves Released PVs to this external deleter.
 * It holds the node name, not the node UID, so a node that re-registers keeps its volumes.
 */
export function localProvisionerIdentity(nodeName: string): string {
  return `${PREFIX}/local-agent.${nodeName}`;
}

/** A label value for any string: itself when valid, else a readable prefix plus a hash. */
export function labelValue(value: string): string {
  if (/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/.test(value)) return value;
  const prefix = value.replace(/[^-A-Za-z0-9_.]+/g, '-').slice(0, 45).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return `${prefix}${prefix ? '-' : ''}${shortHash(value)}`;
}

/** Label selector for the PVs one node's agent published. */
export function nodeSelector(nodeName: string): string {
  return `${LABELS.localNode}=${labelValue(nodeName)}`;
}

/** Builds the PV for a discovered entry (which must have an identity and a capacity). */
export function buildLocalPv(cls: LocalClassConfig, node: LocalNode, entry: ScannedEntry): V1PersistentVolume {
  const block = entry.kind === 'block';
  const identity = entry.identity!;
  const volumeMode = block ? cls.volumeMode : 'Filesystem';
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name: localPvName(node.name, cls.storageClassName, entry.name),
      labels: {
        [LABELS.localNode]: labelValue(node.name),
        [LABELS.localClass]: labelValue(cls.storageClassName),
      },
      annotations: {
        [K8S.provisionedBy]: localProvisionerIdentity(node.name),
        [LOCAL_PV_ANNOTATIONS.node]: node.name,
        [LOCAL_PV_ANNOTATIONS.entry]: entry.name,
        [LOCAL_PV_ANNOTATIONS.kind]: block ? 'block' : 'filesystem',
        [LOCAL_PV_ANNOTATIONS.device]: identity.devno,
        ...(identity.stableId !== undefined ? { [LOCAL_PV_ANNOTATIONS.deviceId]: identity.stableId } : {}),
        ...(identity.diskseq !== undefined ? { [LOCAL_PV_ANNOTATIONS.deviceSeq]: identity.diskseq } : {}),
      },
    },
    spec: {
      // Exact bytes: no rounding, so the PV never claims more than the disk holds, and a
      // claim binds exactly when its request fits (capacity is advisory for local volumes).
      capacity: { storage: (entry.capacityBytes ?? 0n).toString() },
      accessModes: ['ReadWriteOnce'],
      persistentVolumeReclaimPolicy: cls.reclaimPolicy,
      storageClassName: cls.storageClassName,
      volumeMode,
      // A kubelet ignores mount options for raw block volumes; writing them would only mislead.
      ...(volumeMode === 'Filesystem' && cls.mountOptions?.length ? { mountOptions: [...cls.mountOptions] } : {}),
      local: {
        path: `${cls.hostDir}/${entry.name}`,
        // fsType matters only when the path is a device: the kubelet formats and mounts it.
        ...(block && cls.fsType ? { fsType: cls.fsType } : {}),
      },
      nodeAffinity: {
        required: {
          nodeSelectorTerms: [{
            matchExpressions: [{ key: K8S.hostnameLabel, operator: 'In', values: [node.hostname] }],
          }],
        },
      },
    },
  };
}

/** What a PV records about the entry it was published for. */
export interface PublishedRecord {
  readonly nodeName: string;
  readonly entry: string;
  readonly kind: 'filesystem' | 'block';
  readonly identity: DeviceIdentity;
}

/** Reads the publication record back; undefined if any part is missing (not one of ours, or edited). */
export function readRecord(pv: V1PersistentVolume): PublishedRecord | undefined {
  const a = pv.metadata?.annotations ?? {};
  const nodeName = a[LOCAL_PV_ANNOTATIONS.node];
  const entry = a[LOCAL_PV_ANNOTATIONS.entry];
  const kind = a[LOCAL_PV_ANNOTATIONS.kind];
  const devno = a[LOCAL_PV_ANNOTATIONS.device];
  if (!nodeName || !entry || !devno || (kind !== 'filesystem' && kind !== 'block')) return undefined;
  const stableId = a[LOCAL_PV_ANNOTATIONS.deviceId];
  const diskseq = a[LOCAL_PV_ANNOTATIONS.deviceSeq];
  return {
    nodeName,
    entry,
    kind,
    identity: { devno, ...(stableId ? { stableId } : {}), ...(diskseq ? { diskseq } : {}) },
  };
}

/** True if `pv` was published by the agent of `nodeName` (annotation, not label: labels are editable by more people). */
export function isOwnedBy(pv: V1PersistentVolume, nodeName: string): boolean {
  return pv.metadata?.annotations?.[K8S.provisionedBy] === localProvisionerIdentity(nodeName)
    && pv.metadata?.annotations?.[LOCAL_PV_ANNOTATIONS.node] === nodeName;
}

/** True if `pv` was published by some node's local agent. */
export function isLocalAgentPv(pv: V1PersistentVolume): boolean {
  const nodeName = pv.metadata?.annotations?.[LOCAL_PV_ANNOTATIONS.node];
  return nodeName !== undefined && isOwnedBy(pv, nodeName);
}

/**
 * The entry name a PV of class `cls` points at, if its `local.path` is exactly
 * `hostDir/<one path segment>` and agrees with the recorded entry; undefined otherwise.
 * Cleanup trusts nothing else: a PV whose path was crafted to point elsewhere is never wiped.
 */
export function entryOfPv(pv: V1PersistentVolume, cls: LocalClassConfig): string | undefined {
  const p = pv.spec?.local?.path;
  const record = readRecord(pv);
  if (!p || !record || !p.startsWith(cls.hostDir + '/')) return undefined;
  const name = p.slice(cls.hostDir.length + 1);
  if (!isSafeEntryName(name) || name !== record.entry) return undefined;
  return name;
}

/** A single, ordinary path segment. */
export function isSafeEntryName(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  return name.length > 0 && name !== '.' && name !== '..' && !name.includes('/') && !/[\u0000-\u001f\u007f]/.test(name);
}

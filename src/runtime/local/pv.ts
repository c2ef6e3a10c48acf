/**
 * The shape of a published local PV: its deterministic name, its labels and the identity
 * annotations cleanup verifies, and reading that record back.
 */
import { createHash } from 'crypto';
import type { V1PersistentVolume } from '@kubernetes/client-node';
import type { DeviceIdentity } from './device';
import type { ScannedEntry } from './scan';
import type { LocalClassConfig } from '../../contract/controller-config';
import { K8S, LABELS, LOCAL_PV_ANNOTATIONS, PREFIX } from '../../contract/keys';

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

const AGENT_IDENTITY_PREFIX = `${PREFIX}/local-agent.`;

/**
 * The `pv.kubernetes.io/provisioned-by` value of one agent: its LocalStaticProvisioner
 * (`<namespace>/<name>`, from the class map) and its node. Two provisioners whose agents run
 * on one node thus never take each other's volumes for their own. Without a provisioner (a
 * class map written before it was recorded) it is the node-wide identity of those versions.
 * It must not start with `kubernetes.io/`: the PV controller then leaves Released PVs to
 * this external deleter. It holds the node name, not the node UID, so a node that
 * re-registers keeps its volumes.
 */
export function localProvisionerIdentity(nodeName: string, provisioner?: string): string {
  return provisioner === undefined
    ? `${AGENT_IDENTITY_PREFIX}${nodeName}`
    : `${AGENT_IDENTITY_PREFIX}${provisioner.replace('/', '.')}.${nodeName}`;
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

/**
 * Builds the PV for a discovered entry (which must have an identity and a capacity), as the
 * agent of `provisioner` publishes it.
 */
export function buildLocalPv(cls: LocalClassConfig, node: LocalNode, entry: ScannedEntry, provisioner?: string): V1PersistentVolume {
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
        [K8S.provisionedBy]: localProvisionerIdentity(node.name, provisioner),
        [LOCAL_PV_ANNOTATIONS.node]: node.name,
        [LOCAL_PV_ANNOTATIONS.entry]: entry.name,
        [LOCAL_PV_ANNOTATIONS.kind]: block ? 'block' : 'filesystem',
        [LOCAL_PV_ANNOTATIONS.device]: identity.devno,
        ...(identity.stableId !== undefined ? { [LOCAL_PV_ANNOTATIONS.deviceId]: identity.stableId } : {}),
        ...(identity.diskseq !== undefined ? { [LOCAL_PV_ANNOTATIONS.deviceSeq]: identity.diskseq } : {}),
        ...(!block && entry.mountRoot !== undefined ? { [LOCAL_PV_ANNOTATIONS.mountRoot]: entry.mountRoot } : {}),
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
  /**
   * Filesystem volumes: the directory of the filesystem mounted at the entry. Absent on PVs
   * published before it was recorded (see cleanup.ts for how those are wiped).
   */
  readonly mountRoot?: string;
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
  const mountRoot = a[LOCAL_PV_ANNOTATIONS.mountRoot];
  return {
    nodeName,
    entry,
    kind,
    identity: { devno, ...(stableId ? { stableId } : {}), ...(diskseq ? { diskseq } : {}) },
    ...(kind === 'filesystem' && mountRoot ? { mountRoot } : {}),
  };
}

/**
 * Why the mount at a filesystem volume's entry is not the directory recorded at publication
 * (bind mounts of one disk swapped, say), or undefined if it is or none was recorded.
 */
export function mountRootMismatch(record: PublishedRecord, currentRoot: string | undefined): string | undefined {
  if (record.kind !== 'filesystem' || record.mountRoot === undefined || record.mountRoot === currentRoot) return undefined;
  return `mount root recorded ${record.mountRoot}; found ${currentRoot ?? 'none'}`;
}

/** One agent, as ownership of PVs needs it. */
export interface LocalAgentIdentity {
  readonly nodeName: string;
  /** Its LocalStaticProvisioner, `<namespace>/<name>` (absent in class maps of earlier versions). */
  readonly provisioner?: string;
  /** The identity earlier versions gave the same provisioner (`<namespace>/<DaemonSet name>`), when it differs. */
  readonly formerProvisioner?: string;
  /** The storage classes it serves. */
  readonly classes: ReadonlySet<string>;
}

/**
 * True if `pv` is this agent's to publish, withdraw and wipe (by annotations, not labels:
 * labels are editable by more people). A PV with an identity of earlier versions (node-wide,
 * or named after the provisioner's DaemonSet) is adopted only for a class this agent serves: class names are cluster-wide, so exactly
 * one provisioner's agent takes it, and the other leaves it alone instead of calling it a
 * volume of a class that is not configured.
 */
export function isOwnedBy(pv: V1PersistentVolume, agent: LocalAgentIdentity): boolean {
  const a = pv.metadata?.annotations ?? {};
  if (a[LOCAL_PV_ANNOTATIONS.node] !== agent.nodeName) return false;
  const by = a[K8S.provisionedBy];
  if (by === localProvisionerIdentity(agent.nodeName, agent.provisioner)) return true;
  const former = agent.formerProvisioner !== undefined && by === localProvisionerIdentity(agent.nodeName, agent.formerProvisioner);
  const nodeWide = agent.provisioner !== undefined && by === localProvisionerIdentity(agent.nodeName);
  return (former || nodeWide) && agent.classes.has(pv.spec?.storageClassName ?? '');
}

/** True if `pv` was published by some node's local agent (of any provisioner). */
export function isLocalAgentPv(pv: V1PersistentVolume): boolean {
  const a = pv.metadata?.annotations ?? {};
  const nodeName = a[LOCAL_PV_ANNOTATIONS.node];
  const by = a[K8S.provisionedBy];
  return !!nodeName && by !== undefined && by.startsWith(AGENT_IDENTITY_PREFIX) && by.endsWith(`.${nodeName}`);
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

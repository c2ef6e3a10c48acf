/**
 * What the local-volume e2e tests share: the LocalStaticProvisioner synthesized and
 * applied, stand-in nodes whose hostname label differs from their name, node agents started
 * from the synthesized DaemonSet (the class map's directories pointed at a node's disks),
 * claims and pods, and the cleanup of all of it.
 */
import { createHash } from 'crypto';
import { Construct } from 'constructs';
import { NodeDisks } from './disks';
import { LocalStaticProvisioner, LocalStaticProvisionerProps } from '../../../src/constructs/local';
import { ControlPlane } from '../harness';
import {
  applyManifests, ControllerProcess, Controllers, deleteManifests, eventually, Kube, KubeObject, Manifests, paths, synth, waitForObject,
} from '../support';

/** Keys the agent writes (spelled out here: the tests check the contract, not the code's constants). */
export const NODE_LABEL = 'cdk8s-storage.dev/node';
export const CLASS_LABEL = 'cdk8s-storage.dev/local-class';
export const ENTRY_ANNOTATION = 'cdk8s-storage.dev/local-entry';
export const HOSTNAME_LABEL = 'kubernetes.io/hostname';
/** Agents' events about PVs and Nodes (cluster-scoped objects) land here. */
export const EVENT_NAMESPACE = 'default';

/** The documented PV name: `local-` + 16 hex digits of sha256(node, class, entry). */
export function expectedPvName(node: string, cls: string, entry: string): string {
  return `local-${createHash('sha256').update([node, cls, entry].join('\0')).digest('hex').slice(0, 16)}`;
}

/** Synthesizes a LocalStaticProvisioner in namespace `ns` (created by the chart). */
export function synthLocal(ns: string, addClasses: (p: LocalStaticProvisioner) => void, props: LocalStaticProvisionerProps = {}): Manifests {
  return synth((scope: Construct) => {
    const provisioner = new LocalStaticProvisioner(scope, 'local', { namespace: ns, createNamespace: true, ...props });
    addClasses(provisioner);
  });
}

/** Creates a Ready stand-in node whose hostname label is `hostname`, not its name. */
export async function createNode(cp: ControlPlane, name: string, hostname: string): Promise<void> {
  await cp.createNode(name, { [HOSTNAME_LABEL]: hostname });
}

/**
 * Starts the node agent of `node` exactly as the synthesized DaemonSet runs it, with every
 * class's hostDir and mountDir in the class map pointed at that node's directories.
 */
export async function startAgent(controllers: Controllers, manifests: Manifests, node: string, disks: NodeDisks): Promise<ControllerProcess> {
  return controllers.start(manifests, {
    name: `agent-${node}`,
    workload: { kind: 'DaemonSet' },
    nodeName: node,
    rewriteConfig: (_configMap, key, value) => {
      if (key !== 'classes.json') return value;
      const map = JSON.parse(value);
      for (const cls of map.classes) {
        cls.hostDir = disks.hostDir(node, cls.storageClassName);
        cls.mountDir = disks.agentDir(node, cls.storageClassName);
      }
      return JSON.stringify(map);
    },
  });
}

/** PVs published by `node`'s agent (by its label), sorted by name. */
export async function pvsOfNode(kube: Kube, node: string): Promise<KubeObject[]> {
  const pvs = await kube.list(paths.pv(), { labelSelector: `${NODE_LABEL}=${node}` });
  return pvs.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/** Waits until `node`'s agent published exactly these PV names and all are Available; returns the PVs. */
export async function waitForAvailable(kube: Kube, node: string, names: string[], timeoutMs?: number): Promise<KubeObject[]> {
  const want = [...names].sort();
  let seen: string[] = [];
  return eventually(`PVs ${want.join(', ')} of ${node} to be Available`, async () => {
    const pvs = await pvsOfNode(kube, node);
    seen = pvs.map((pv) => `${pv.metadata.name}=${pv.status?.phase}`);
    const ok = pvs.length === want.length && pvs.every((pv, i) => pv.metadata.name === want[i] && pv.status?.phase === 'Available');
    return ok ? pvs : undefined;
  }, { timeoutMs, describe: () => `seen: ${seen.join(', ') || 'none'}` });
}

export interface ClaimOptions {
  readonly storageClassName: string;
  readonly request: string;
  readonly block?: boolean;
  /** Pre-binds the claim to this PV. */
  readonly volumeName?: string;
}

/** A ReadWriteOnce claim. */
export async function createClaim(kube: Kube, ns: string, name: string, options: ClaimOptions): Promise<void> {
  await kube.create(paths.pvc(ns), {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: ns },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: options.storageClassName,
      volumeMode: options.block ? 'Block' : 'Filesystem',
      resources: { requests: { storage: options.request } },
      ...(options.volumeName ? { volumeName: options.volumeName } : {}),
    },
  });
}

/**
 * A pod using the claim (as a mount, or as a device for Block), or no volume when `claim` is
 * undefined; `preferNode` adds a strong scheduling preference for a node.
 */
export async function createPod(
  kube: Kube, ns: string, name: string, claim: string | undefined, options: { block?: boolean; preferNode?: string } = {},
): Promise<void> {
  await kube.create(paths.pod(ns), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns },
    spec: {
      ...(options.preferNode ? {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [{
              weight: 100,
              preference: { matchFields: [{ key: 'metadata.name', operator: 'In', values: [options.preferNode] }] },
            }],
          },
        },
      } : {}),
      containers: [{
        name: 'app',
        image: 'busybox',
        command: ['sleep', '3600'],
        resources: { requests: { cpu: '10m', memory: '16Mi' } },
        ...(claim === undefined ? {} : options.block
          ? { volumeDevices: [{ name: 'data', devicePath: '/dev/data' }] }
          : { volumeMounts: [{ name: 'data', mountPath: '/data' }] }),
      }],
      ...(claim === undefined ? {} : { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: claim } }] }),
    },
  });
}

/** Waits for the scheduler to place the pod; returns its node. */
export async function waitForScheduled(kube: Kube, ns: string, pod: string): Promise<string> {
  const placed = await waitForObject(kube, paths.pod(ns, pod), (p) => Boolean(p.spec?.nodeName));
  return placed.spec.nodeName;
}

/** Deletes the pod at once (no kubelet will confirm it) and the claim: the volume becomes Released. */
export async function release(kube: Kube, ns: string, pod: string | undefined, claim: string): Promise<void> {
  if (pod) await kube.delete(paths.pod(ns, pod), { gracePeriodSeconds: 0 });
  await kube.delete(paths.pvc(ns, claim));
}

/** Removes what a test file put on the cluster: its PVs, nodes and the synthesized objects (namespace included). */
export async function cleanupCluster(cp: ControlPlane, kube: Kube, manifests: Manifests | undefined, nodes: string[]): Promise<void> {
  for (const node of nodes) {
    await cp.kubectl(['delete', 'pv', '-l', `${NODE_LABEL}=${node}`, '--wait=false', '--ignore-not-found'], { allowFailure: true });
    await kube.delete(paths.node(node)).catch(() => undefined);
  }
  if (manifests) await deleteManifests(cp, manifests);
}

/** Applies the synthesized manifests (workloads are only validated by the API server) and waits until pods can be created in `ns`. */
export async function applyLocal(cp: ControlPlane, manifests: Manifests, ns: string): Promise<void> {
  await applyManifests(cp, manifests);
  // Pods need the namespace's default ServiceAccount (ServiceAccount admission).
  await cp.waitForObject(['serviceaccount', 'default', '-n', ns], (sa) => sa !== undefined);
}

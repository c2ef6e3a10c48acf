/**
 * The NFS controller Deployment synthesized by NfsProvisioner, run as pods on the test
 * node, and what the tests read from those pods (readiness, the Lease holder, logs).
 *
 * `nfsControllerOnTestNode` applies the stand-ins the node needs, each named here and in
 * the header of every test that uses it:
 * - `onTestNode`: the locally loaded image with imagePullPolicy Never, a toleration of the
 *   node's taint, the host network with KUBERNETES_SERVICE_HOST=127.0.0.1 and the API
 *   port (pods here have only `lo`; the API server listens on loopback);
 * - pinned to the test node (no controller pod on a stand-in Node object another test made);
 * - the HTTP port moved off 8080 to a free one, because the host network is shared
 *   (onTestNode aims the kubelet's probes at 127.0.0.1);
 * - the export volume: the kernel here has no NFS client, so kubelet cannot mount the
 *   Deployment's `nfs` volume; it becomes a hostPath onto the directory nfs-ganesha
 *   exports for this provisioner, so the controller sees the tree NFS clients see;
 * - `allowStandInPods`: the controller's namespace is labelled for the `baseline` Pod
 *   Security level, which forbids the host network and hostPath volumes the two stand-ins
 *   above need, so it is relabelled `privileged`.
 */
import { spawn } from 'child_process';
import { ControlPlane, onTestNode, TEST_NODE_NAME } from '../harness';
import { eventually, Kube, KubeObject, LogLine, parseLogLines, paths } from '../support';

/** The Deployment's volume that mounts the NFS export (the construct's name for it). */
const EXPORT_VOLUME = 'nfs-root';

const HOSTNAME_LABEL = 'kubernetes.io/hostname';

/** Label that keeps apart the Deployments `replica` makes of one synthesized Deployment. */
const REPLICA_LABEL = 'cdk8s-storage.e2e/replica';

export interface ControllerPodOptions {
  /** The controller image as the node knows it. */
  readonly image: string;
  /** The API server's port on 127.0.0.1. */
  readonly apiPort: number;
  /** A free port on this machine for --http-port (probes and /metrics). */
  readonly httpPort: number;
  /** The directory nfs-ganesha exports for this provisioner (NfsDeployment.root). */
  readonly exportDir: string;
  /**
   * Makes this a one-replica Deployment of its own, named `<name>-<replica>`: two replicas
   * of one Deployment cannot both run in the host network of one node (same port), so
   * two such Deployments, differing only in name and port, stand in for them.
   */
  readonly replica?: string;
}

/** Relabels the controller's namespace `privileged`, as the stand-ins need (see the header). */
export async function allowStandInPods(cp: ControlPlane, namespace: string): Promise<void> {
  await cp.kubectl(['label', 'namespace', namespace, '--overwrite',
    ...['enforce', 'warn', 'audit'].map((mode) => `pod-security.kubernetes.io/${mode}=privileged`)]);
}

/** The synthesized controller Deployment with the stand-ins named in the header. */
export function nfsControllerOnTestNode(deployment: KubeObject, options: ControllerPodOptions): KubeObject {
  const d = onTestNode(deployment, { image: options.image, apiPort: options.apiPort });
  const spec = d.spec.template.spec;
  spec.nodeSelector = { ...spec.nodeSelector, [HOSTNAME_LABEL]: TEST_NODE_NAME };
  for (const c of spec.containers) {
    c.args = c.args.map((a: string) => (a.startsWith('--http-port=') ? `--http-port=${options.httpPort}` : a));
    for (const p of c.ports ?? []) {
      if (p.name === 'http') p.containerPort = options.httpPort;
    }
  }
  const exportVolume = spec.volumes.find((v: KubeObject) => v.name === EXPORT_VOLUME);
  if (!exportVolume?.nfs) {
    throw new Error(`the Deployment has no nfs volume ${EXPORT_VOLUME}: ${JSON.stringify(spec.volumes)}`);
  }
  delete exportVolume.nfs;
  exportVolume.hostPath = { path: options.exportDir, type: 'Directory' };
  if (options.replica !== undefined) {
    d.metadata.name = `${d.metadata.name}-${options.replica}`;
    d.spec.replicas = 1;
    d.spec.selector.matchLabels[REPLICA_LABEL] = options.replica;
    d.spec.template.metadata.labels[REPLICA_LABEL] = options.replica;
  }
  return d;
}

/** The pods of a Deployment (by its selector); terminating ones only with `terminating`. */
export async function podsOf(kube: Kube, deployment: KubeObject, options: { terminating?: boolean } = {}): Promise<KubeObject[]> {
  const selector = Object.entries(deployment.spec.selector.matchLabels as Record<string, string>).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = await kube.list(paths.pod(deployment.metadata.namespace), { labelSelector: selector });
  return options.terminating ? pods : pods.filter((p) => !p.metadata.deletionTimestamp);
}

export function isReady(pod: KubeObject): boolean {
  return pod.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status === 'True';
}

/** Waits until the Deployment has exactly `count` pods, all Ready; returns them. */
export function waitForReadyPods(kube: Kube, deployment: KubeObject, count: number): Promise<KubeObject[]> {
  return eventually(`${count} Ready pod(s) of ${deployment.metadata.name}`, async () => {
    const pods = await podsOf(kube, deployment);
    return pods.length === count && pods.every(isReady) ? pods : undefined;
  });
}

/** The pod's only running container, as its status reports it (containerID, restartCount). */
export function containerStatus(pod: KubeObject): KubeObject {
  const [status] = pod.status?.containerStatuses ?? [];
  if (!status) {
    throw new Error(`pod ${pod.metadata.name} has no container status yet`);
  }
  return status;
}

/** The pod name in a Lease holder identity (`<POD_NAME>_<random>`, a new random part per start). */
export function holderPod(lease: KubeObject | undefined): string | undefined {
  const holder: string | undefined = lease?.spec?.holderIdentity;
  return holder ? holder.slice(0, holder.lastIndexOf('_')) : undefined;
}

/** `kubectl logs` of a pod's container (`previous`: the start before the current one), as log lines. */
export async function podLogs(cp: ControlPlane, pod: KubeObject, options: { previous?: boolean } = {}): Promise<LogLine[]> {
  const { name, namespace } = pod.metadata;
  const r = await cp.kubectl(['logs', name, '-n', namespace, ...(options.previous ? ['--previous'] : [])]);
  return parseLogLines(r.stdout, `kubectl logs ${options.previous ? '--previous ' : ''}${namespace}/${name}`);
}

/** A `kubectl logs -f` running in the background. */
export interface FollowedLogs {
  /** Resolves once the first line arrived: from then on nothing the container logs is missed. */
  readonly following: Promise<void>;
  /** Resolves with every line once the container has exited. */
  readonly lines: Promise<LogLine[]>;
}

/**
 * `kubectl logs -f` of a pod, so a test can read what a pod logged while being deleted
 * (its logs go with it).
 */
export function followLogs(cp: ControlPlane, pod: KubeObject): FollowedLogs {
  const { name, namespace } = pod.metadata;
  const child = spawn(cp.kubectlPath, ['--kubeconfig', cp.kubeconfig, 'logs', '-f', name, '-n', namespace], { stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  let stderr = '';
  const following = new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    child.once('error', reject);
    child.once('close', (code) => reject(new Error(`kubectl logs -f ${namespace}/${name} ended before any output (exit ${code}): ${stderr}`)));
  });
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const lines = new Promise<LogLine[]>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', () => resolve(parseLogLines(Buffer.concat(chunks).toString('utf8'), `kubectl logs -f ${namespace}/${name}`)));
  });
  return { following, lines };
}

/** Deletes the Deployments and waits until their pods are gone, so no controller outlives the test's cleanup. */
export async function removeControllerPods(cp: ControlPlane, kube: Kube, deployments: readonly KubeObject[]): Promise<void> {
  if (deployments.length === 0) {
    return;
  }
  await cp.deleteYaml([...deployments], { allowFailure: true, wait: true });
  for (const d of deployments) {
    await eventually(`the pods of ${d.metadata.name} to be gone`, async () => (await podsOf(kube, d, { terminating: true })).length === 0);
  }
}

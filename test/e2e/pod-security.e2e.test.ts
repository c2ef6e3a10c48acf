/**
 * The Pod Security labels on the namespaces the constructs create, as the real API
 * server's PodSecurity admission enforces them: each synthesized pod is accepted in its
 * own namespace (a server-side dry-run create of a Pod, which admission checks like a real
 * one), and the local agent's pod is refused in the NFS controller's `baseline` namespace,
 * which shows the label is enforced.
 */
import { PersistentVolumeMode } from 'cdk8s-plus-28';
import { connect, ControlPlane, toYaml } from './harness';
import { applyManifests, KubeObject, synth, uniqueName } from './support';
import { BlockCleaner, LocalStaticProvisioner, NfsProvisioner, NfsServer } from '../../src';

let cp: ControlPlane;
const nfsNamespace = uniqueName('pss-nfs');
const localNamespace = uniqueName('pss-local');

const manifests = synth((chart) => {
  new NfsProvisioner(chart, 'nfs', { server: NfsServer.external({ host: '10.0.0.5', path: '/exports' }), namespace: nfsNamespace, createNamespace: true });
  const local = new LocalStaticProvisioner(chart, 'local', { namespace: localNamespace, createNamespace: true, nodeCleanup: true });
  local.addStorageClass('fast', { hostDir: '/mnt/disks/fast' });
  local.addStorageClass('raw', { hostDir: '/mnt/disks/raw', volumeMode: PersistentVolumeMode.BLOCK, blockCleaner: BlockCleaner.quickReset() });
});

beforeAll(async () => {
  ({ controlPlane: cp } = connect());
  await applyManifests(cp, manifests, { workloads: 'skip' });
});

afterAll(async () => {
  for (const ns of [nfsNamespace, localNamespace]) await cp?.kubectl(['delete', 'namespace', ns, '--wait=false'], { allowFailure: true });
});

/** A Pod made of a workload's template, in `namespace`. */
function podOf(workload: KubeObject, namespace: string): KubeObject {
  const template = workload.spec.template;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: uniqueName('pss'), namespace, labels: template.metadata.labels },
    spec: template.spec,
  };
}

/** Creates the pod with a server-side dry run: admission runs, nothing is stored. */
async function dryRunCreate(pod: KubeObject) {
  return cp.kubectl(['create', '--dry-run=server', '-f', '-'], { input: toYaml([pod]), allowFailure: true });
}

test('the namespaces carry the levels', async () => {
  const labels = async (ns: string) => JSON.parse((await cp.kubectl(['get', 'namespace', ns, '-o', 'json'])).stdout).metadata.labels;
  expect(await labels(nfsNamespace)).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'baseline' });
  expect(await labels(localNamespace)).toMatchObject({ 'pod-security.kubernetes.io/enforce': 'privileged' });
});

test('every synthesized pod is admitted in its own namespace', async () => {
  const workloads = manifests.workloads();
  expect(workloads.map((w) => w.kind).sort()).toEqual(['DaemonSet', 'Deployment', 'Deployment']);
  for (const workload of workloads) {
    const result = await dryRunCreate(podOf(workload, workload.metadata!.namespace!));
    expect({ workload: workload.metadata!.name, code: result.code, stderr: result.stderr }).toEqual({ workload: workload.metadata!.name, code: 0, stderr: '' });
  }
});

test('the node agent\'s pod is refused in the baseline namespace', async () => {
  const pod = podOf(manifests.one('DaemonSet'), nfsNamespace);
  // The NFS controller's account, so that only PodSecurity can refuse it.
  pod.spec.serviceAccountName = manifests.ofKind('ServiceAccount').find((sa) => sa.metadata!.namespace === nfsNamespace)!.metadata!.name;
  const result = await dryRunCreate(pod);
  expect(result.code).not.toBe(0);
  expect(result.stderr).toMatch(/violates PodSecurity "baseline:latest"/);
  expect(result.stderr).toMatch(/hostPath volumes/);
});

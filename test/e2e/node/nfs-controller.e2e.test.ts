/**
 * Scenarios 2 and 4 on the real node: the NFS controller Deployment synthesized by
 * NfsProvisioner (one replica) runs as a pod from the controller image with the in-cluster
 * config (the projected ServiceAccount token; no --kubeconfig) and turns Ready from its own
 * readiness probe; a claim is provisioned, a file written through NFS (libnfs against the
 * harness's nfs-ganesha) lands in its directory, and deleting the claim removes the PV and
 * the directory. `kubectl logs` of the pod shows JSON log lines (none a 403: the
 * synthesized RBAC is enough), and /metrics scraped from the pod shows the controller's
 * metrics.
 *
 * Stand-ins (nfsControllerOnTestNode): the locally loaded image with imagePullPolicy Never;
 * a toleration of the node's taint and a nodeSelector for it; the host network with
 * KUBERNETES_SERVICE_HOST=127.0.0.1 and the API port (pods here have only `lo`, the API
 * server listens on loopback), so the HTTP port moves off 8080 to a free one; and the
 * export volume: the kernel here has no NFS client, so kubelet cannot mount the
 * Deployment's `nfs` volume, and a hostPath onto the directory nfs-ganesha exports for the
 * provisioner takes its place. The file is still written through NFS.
 */
import * as fs from 'fs';
import * as path from 'path';
import { allowStandInPods, containerStatus, holderPod, nfsControllerOnTestNode, podLogs, removeControllerPods, waitForReadyPods } from './nfs-controller-pods';
import { OnDelete } from '../../../src/constructs/nfs';
import { connect, TEST_NODE_NAME, TestNode } from '../harness';
import { freePort } from '../harness/proc';
import { deployNfs, NfsDeployment, nfsTestEnv, NfsTestEnv } from '../nfs/fixture';
import { assertNoForbidden, eventually, KubeObject, LogEntry, paths, waitForClaimBound, waitForGone } from '../support';

/** What Node prints on stderr for a deprecation warning: the warning, then its hint line. */

let env: NfsTestEnv;
let node: TestNode;
let d: NfsDeployment | undefined;
let controller: KubeObject | undefined;
let httpPort: number;

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

async function controllerPod(): Promise<KubeObject> {
  const [pod] = await waitForReadyPods(env.kube, controller!, 1);
  return pod;
}

beforeAll(async () => {
  env = nfsTestEnv();
  node = connect().node;
  d = await deployNfs(env, { prefix: 'pod-nfs', replicas: 1, classes: { Files: { onDelete: OnDelete.DELETE } } });
  await allowStandInPods(env.cp, d.namespace);
  httpPort = await freePort();
  controller = nfsControllerOnTestNode(d.manifests.one('Deployment'), {
    image: node.controllerImage,
    apiPort: Number(new URL(env.cp.server).port),
    httpPort,
    exportDir: d.root,
  });
});

afterAll(async () => {
  try {
    if (env && controller) await removeControllerPods(env.cp, env.kube, [controller]);
  } finally {
    await d?.cleanUp();
  }
});

test('2: the Deployment runs as a pod from the image with the in-cluster config, Ready from its own probe; a claim is provisioned, written through NFS, deleted', async () => {
  const applied = Date.now();
  await env.cp.applyYaml(controller!);
  const pod = await controllerPod();
  console.log(`[node] NFS controller pod Ready ${seconds(applied)} after apply`);
  const container = pod.spec.containers[0];
  expect(pod.spec.nodeName).toBe(TEST_NODE_NAME);
  expect(container.image).toBe(node.controllerImage);
  expect(containerStatus(pod).restartCount).toBe(0);
  // In-cluster config: no kubeconfig flag, the ServiceAccount token projected by the kubelet.
  expect(container.args.filter((a: string) => a.startsWith('--kubeconfig'))).toEqual([]);
  expect(pod.spec.serviceAccountName).toBe(d!.manifests.one('Deployment').spec.template.spec.serviceAccountName);
  expect(container.volumeMounts.map((m: KubeObject) => m.mountPath)).toContain('/var/run/secrets/kubernetes.io/serviceaccount');
  // Ready through the synthesized probe, on the controller's own /readyz.
  expect(container.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
  expect(holderPod(await env.kube.get(paths.lease(d!.namespace, d!.leaseName)))).toBe(pod.metadata.name);

  const created = Date.now();
  await d!.createClaim('data', 'Files');
  const claim = await waitForClaimBound(env.kube, d!.claimsNamespace, 'data');
  console.log(`[node] claim Bound ${seconds(created)} after it was created`);
  const pv = (await env.kube.get(paths.pv(claim.spec.volumeName)))!;
  const dir = d!.diskPathOf(pv);
  expect(fs.statSync(dir).isDirectory()).toBe(true);

  // Written through NFS at the PV's own server path; it lands in the provisioned directory.
  await env.nfs.writeFile(`${pv.spec.nfs.path}/hello.txt`, 'written through NFS\n');
  expect(fs.readFileSync(path.join(dir, 'hello.txt'), 'utf8')).toBe('written through NFS\n');
  expect(await env.nfs.list(pv.spec.nfs.path)).toEqual(['hello.txt']);

  const deleted = Date.now();
  await env.kube.delete(paths.pvc(d!.claimsNamespace, 'data'));
  await waitForGone(env.kube, paths.pv(pv.metadata.name));
  await eventually(`${dir} to be removed`, async () => !fs.existsSync(dir));
  console.log(`[node] PV and directory gone ${seconds(deleted)} after the claim was deleted`);
});

test('4: kubectl logs shows the JSON logs; /metrics scraped from the pod shows the controller metrics', async () => {
  const pod = await controllerPod();
  const lines = await podLogs(env.cp, pod);
  expect(lines.length).toBeGreaterThan(0);
  // Every line is one JSON object with a time, a level and a message: Node's own warnings
  // (e.g. a deprecation, written as text) would fail this too.
  expect(lines.filter((l) => l.entry === undefined).map((l) => l.text)).toEqual([]);
  const entries = lines.map((l) => l.entry).filter((e): e is LogEntry => e !== undefined);
  for (const entry of entries) {
    expect(Number.isNaN(Date.parse(String(entry.time)))).toBe(false);
    expect(['debug', 'info', 'warn', 'error']).toContain(entry.level);
    expect(typeof entry.msg).toBe('string');
  }
  expect(entries.map((e) => e.msg)).toEqual(expect.arrayContaining(['started', 'became leader', 'caches synced; working', 'provision succeeded', 'delete succeeded']));
  expect(entries.find((e) => e.msg === 'started')!.httpPort).toBe(httpPort);
  expect(entries.find((e) => e.msg === 'provision succeeded')!.claim).toBe(`${d!.claimsNamespace}/data`);
  assertNoForbidden(lines, 'kubectl logs of the controller pod');

  // The pod is in the host network: its metrics port is on this machine's loopback.
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  expect(res.status).toBe(200);
  const metrics = await res.text();
  console.log(`[node] /metrics from the pod: ${metrics.split('\n').filter((l) => l.startsWith('cdk8s_storage_')).length} cdk8s_storage_ samples`);
  expect(metrics).toMatch(/^cdk8s_storage_leader 1$/m);
  expect(metrics).toMatch(/^cdk8s_storage_operations_total\{kind="provision",result="succeeded"\} 1$/m);
  expect(metrics).toMatch(/^cdk8s_storage_operations_total\{kind="delete",result="succeeded"\} 1$/m);
  expect(metrics).toMatch(/^cdk8s_storage_queue_depth /m);
});

/**
 * Scenario 1 on the real node: the LocalStaticProvisioner's node agent runs as a pod from
 * the controller image (the synthesized DaemonSet, applied as is except the stand-ins
 * below), a filesystem mounted on the host after it started becomes an Available PV, a
 * workload pod with a WaitForFirstConsumer claim is scheduled onto the node, and the file
 * it writes lands in the volume; deleting pod and claim makes the agent wipe the volume
 * and publish it Available again.
 *
 * Stand-ins (onTestNode and `agentOnTestNode`): the locally loaded image with
 * imagePullPolicy Never; a toleration of the node's taint; the agent in the host network
 * with KUBERNETES_SERVICE_HOST=127.0.0.1 and the API port (pods here have only `lo`, and the
 * API server listens on loopback), so its HTTP port is moved off 8080 to a free one.
 */
import * as fs from 'fs';
import * as path from 'path';
import { connect, ControlPlane, onTestNode, TEST_NODE_NAME, TestNode } from '../harness';
import { freePort } from '../harness/proc';
import { mountsUnder, NodeDisks, sh } from '../local/disks';
import { applyLocal, cleanupCluster, createClaim, NODE_LABEL, pvsOfNode, synthLocal } from '../local/fixture';
import { eventually, Kube, KubeObject, Manifests, paths, uniqueName, waitForClaimBound, waitForGone, waitForObject } from '../support';

const disks = new NodeDisks('node-local');
const ns = uniqueName('node-local');
const cls = `${ns}-ssd`;
const hostDir = disks.hostDir(TEST_NODE_NAME, cls);

let cp: ControlPlane;
let node: TestNode;
let kube: Kube;
let manifests: Manifests | undefined;
let daemonSet: KubeObject;

/** The synthesized DaemonSet with the stand-ins named in the header. */
function agentOnTestNode(ds: KubeObject, apiPort: number, httpPort: number): KubeObject {
  const d = onTestNode(ds, { image: node.controllerImage, apiPort });
  for (const c of d.spec.template.spec.containers) {
    c.args = c.args.map((a: string) => (a.startsWith('--http-port=') ? `--http-port=${httpPort}` : a));
    for (const p of c.ports ?? []) {
      if (p.name === 'http') p.containerPort = httpPort;
    }
  }
  return d;
}

function seconds(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

beforeAll(async () => {
  ({ controlPlane: cp, node } = connect());
  kube = Kube.fromKubeconfig(cp.kubeconfig);
  // The class's discovery directory on the host: a shared mount point, so a filesystem
  // mounted below it later reaches the agent's HostToContainer mount.
  fs.mkdirSync(hostDir, { recursive: true });
  disks.bind(hostDir, hostDir);
  sh('mount', ['--make-shared', hostDir]);
  manifests = synthLocal(ns, (p) => p.addStorageClass('ssd', { name: cls, hostDir }), { image: node.controllerImage });
  await applyLocal(cp, manifests, ns);
  daemonSet = agentOnTestNode(manifests.one('DaemonSet'), Number(new URL(cp.server).port), await freePort());
});

afterAll(async () => {
  try {
    if (cp) {
      await cp.deleteYaml([daemonSet].filter((d) => d !== undefined), { allowFailure: true, wait: true });
      await eventually('the agent pod to be gone', async () => (await kube.list(paths.pod(ns))).length === 0);
      await cp.kubectl(['delete', 'pv', '-l', `${NODE_LABEL}=${TEST_NODE_NAME}`, '--ignore-not-found'], { allowFailure: true });
      await cleanupCluster(cp, kube, manifests, []);
    }
  } finally {
    disks.cleanup();
  }
});

test('the agent runs as a pod from the image; a mounted filesystem becomes an Available PV; a workload pod writes into it; release wipes it', async () => {
  const agentApplied = Date.now();
  await cp.applyYaml(daemonSet);
  const agent = await eventually('the agent pod to be Ready', async () => {
    const [pod] = await kube.list(paths.pod(ns));
    const ready = pod?.status?.conditions?.find((c: { type: string }) => c.type === 'Ready')?.status === 'True';
    return ready ? pod : undefined;
  });
  process.stderr.write(`[node] agent pod Ready ${seconds(agentApplied)} after apply\n`);
  expect(agent.spec.nodeName).toBe(TEST_NODE_NAME);
  expect(agent.spec.containers[0].image).toBe(node.controllerImage);

  // A filesystem mounted while the agent runs: published as Available.
  const mounted = Date.now();
  const volume = disks.mountImage(TEST_NODE_NAME, cls, 'vol', 'ext4', 64);
  expect(mountsUnder(hostDir)).toContain(volume);
  const [published] = await eventually('the PV of the mounted filesystem to be Available', async () => {
    const pvs = await pvsOfNode(kube, TEST_NODE_NAME);
    return pvs.length === 1 && pvs[0].status?.phase === 'Available' ? pvs : undefined;
  });
  process.stderr.write(`[node] PV Available ${seconds(mounted)} after the mount\n`);
  expect(published.spec.local.path).toBe(volume);
  expect(published.spec.storageClassName).toBe(cls);

  // A workload pod with a WaitForFirstConsumer claim: scheduled here, its file lands in the volume.
  await createClaim(kube, ns, 'data', { storageClassName: cls, request: '10Mi' });
  const workloadApplied = Date.now();
  await cp.applyYaml(onTestNode({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'writer', namespace: ns },
    spec: {
      restartPolicy: 'Never',
      securityContext: { runAsUser: 0 },
      containers: [{
        name: 'writer',
        image: node.controllerImage,
        command: ['node', '-e', "require('fs').writeFileSync('/data/hello.txt', 'written by a pod')"],
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
    },
  }, { image: node.controllerImage }));
  const writer = await waitForObject(kube, paths.pod(ns, 'writer'), (p) => ['Succeeded', 'Failed'].includes(p.status?.phase));
  process.stderr.write(`[node] workload pod ${writer.status.phase} ${seconds(workloadApplied)} after apply\n`);
  expect(writer.status.phase).toBe('Succeeded');
  expect(writer.spec.nodeName).toBe(TEST_NODE_NAME);
  expect((await waitForClaimBound(kube, ns, 'data')).spec.volumeName).toBe(published.metadata.name);
  expect(fs.readFileSync(path.join(volume, 'hello.txt'), 'utf8')).toBe('written by a pod');

  // Pod and claim deleted: the agent wipes the volume and publishes it again.
  const released = Date.now();
  await kube.delete(paths.pod(ns, 'writer'));
  await waitForGone(kube, paths.pod(ns, 'writer'));
  await kube.delete(paths.pvc(ns, 'data'));
  const again = await waitForObject(kube, paths.pv(published.metadata.name),
    (pv) => pv.metadata.uid !== published.metadata.uid && pv.status?.phase === 'Available');
  process.stderr.write(`[node] PV Available again ${seconds(released)} after the pod's deletion\n`);
  expect(again.spec.claimRef).toBeUndefined();
  expect(fs.readdirSync(volume)).toEqual([]);
  expect(mountsUnder(hostDir)).toContain(volume);
});

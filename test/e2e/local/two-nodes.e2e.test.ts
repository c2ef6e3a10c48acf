/**
 * Two stand-in nodes, each with its own node agent process (the same synthesized DaemonSet,
 * a different NODE_NAME): each publishes only its own node's volumes. Then the opt-in
 * node-deletion role (the synthesized Deployment, under its own ServiceAccount) cleans up
 * after one of the nodes is deleted.
 */
import * as fs from 'fs';
import { NodeDisks } from './disks';
import {
  applyLocal, CLASS_LABEL, cleanupCluster, createClaim, createNode, ENTRY_ANNOTATION, EVENT_NAMESPACE, expectedPvName,
  HOSTNAME_LABEL, pvsOfNode, startAgent, synthLocal, waitForAvailable,
} from './fixture';
import { connect, ControlPlane } from '../harness';
import {
  ControllerProcess, Kube, KubeObject, Manifests, paths, uniqueName, useControllers, waitForClaimBound, waitForEvent, waitForGone,
} from '../support';

const controllers = useControllers();
const disks = new NodeDisks('local-e2e-nodes');

const ns = uniqueName('local-two');
const cls = `${ns}-ssd`;
const one = `${ns}-one`;
const two = `${ns}-two`;
const hostOf = (node: string) => `${node}-hostname`;
const entries: Record<string, string[]> = {
  [one]: ['vol-a', 'vol-b', 'same-name'],
  [two]: ['vol-c', 'same-name'],
};
const namesOf = (node: string, list = entries[node]) => list.map((e) => expectedPvName(node, cls, e));

let cp: ControlPlane;
let kube: Kube;
let manifests: Manifests | undefined;
let agentTwo: ControllerProcess;

beforeAll(async () => {
  cp = connect().controlPlane;
  kube = Kube.fromKubeconfig(cp.kubeconfig);
  manifests = synthLocal(ns, (p) => p.addStorageClass('ssd', { name: cls, hostDir: '/mnt/disks/ssd' }), { nodeCleanup: true });
  await applyLocal(cp, manifests, ns);
  for (const node of [one, two]) {
    await createNode(cp, node, hostOf(node));
    disks.prepare(node, cls);
    for (const entry of entries[node]) disks.mountImage(node, cls, entry, 'ext4', 16);
  }
  await startAgent(controllers, manifests, one, disks);
  agentTwo = await startAgent(controllers, manifests, two, disks);
});

afterAll(async () => {
  try {
    if (cp) await cleanupCluster(cp, kube, manifests, [one, two]);
  } finally {
    disks.cleanup();
  }
});

const uids = (pvs: KubeObject[]) => pvs.map((pv) => `${pv.metadata.name}/${pv.metadata.uid}`);

test('each node\'s agent publishes exactly its own node\'s volumes, with affinity to its own node', async () => {
  for (const node of [one, two]) {
    const pvs = await waitForAvailable(kube, node, namesOf(node));
    for (const pv of pvs) {
      expect(pv.spec.local.path).toBe(`${disks.hostDir(node, cls)}/${pv.metadata.annotations[ENTRY_ANNOTATION]}`);
      expect(pv.spec.nodeAffinity.required.nodeSelectorTerms).toEqual([
        { matchExpressions: [{ key: HOSTNAME_LABEL, operator: 'In', values: [hostOf(node)] }] },
      ]);
    }
  }
  // Nothing else in the class: no node published the other's volumes, and the entry both
  // nodes have is two different volumes.
  const all = await kube.list(paths.pv(), { labelSelector: `${CLASS_LABEL}=${cls}` });
  expect(all.map((pv) => pv.metadata.name).sort()).toEqual([...namesOf(one), ...namesOf(two)].sort());
  expect(expectedPvName(one, cls, 'same-name')).not.toBe(expectedPvName(two, cls, 'same-name'));
});

test('a change on one node is acted on by that node\'s agent only', async () => {
  const before = uids(await pvsOfNode(kube, one));
  disks.mountImage(two, cls, 'vol-d', 'ext4', 16);
  entries[two].push('vol-d');
  await waitForAvailable(kube, two, namesOf(two));
  // Node one's agent sees a change in its own directory and runs a pass; it leaves node
  // two's volumes alone although its own directory has none of them.
  fs.mkdirSync(`${disks.hostDir(one, cls)}/not-a-volume`);
  await waitForEvent(kube, EVENT_NAMESPACE, one, 'NotAMountPoint');
  expect(uids(await pvsOfNode(kube, one))).toEqual(before);
  expect((await pvsOfNode(kube, two)).map((pv) => pv.metadata.name)).toEqual(namesOf(two).sort());
});

test('after a node is deleted, the node-deletion role removes its Available volumes and reports its bound one', async () => {
  const keptOnOne = uids(await waitForAvailable(kube, one, namesOf(one)));
  const bound = expectedPvName(two, cls, 'vol-c');
  await createClaim(kube, ns, 'on-two', { storageClassName: cls, request: '1Mi', volumeName: bound });
  await waitForClaimBound(kube, ns, 'on-two');

  // The node goes away, and its agent with it.
  await agentTwo.stop();
  await kube.delete(paths.node(two));

  const role = await controllers.start(manifests!, { name: 'node-cleanup', workload: { kind: 'Deployment' } });
  const unused = namesOf(two).filter((n) => n !== bound);
  for (const name of unused) {
    await waitForGone(kube, paths.pv(name));
    const removed = await waitForEvent(kube, EVENT_NAMESPACE, name, 'NodeDeletedVolumeRemoved');
    expect(removed.message).toContain(`node ${two} was deleted`);
  }
  const reported = await waitForEvent(kube, EVENT_NAMESPACE, bound, 'ReferencedNodeDeleted');
  expect(reported.type).toBe('Warning');
  expect(reported.message).toContain(`${ns}/on-two`);
  expect((await kube.get(paths.pv(bound)))?.status?.phase).toBe('Bound');
  // Node one and its volumes are untouched.
  expect(uids(await pvsOfNode(kube, one))).toEqual(keptOnOne);
  expect((await role.http('/readyz')).status).toBe(200);
});

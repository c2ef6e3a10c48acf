/**
 * Scenario 4: a WaitForFirstConsumer class provisions a claim only after the
 * real scheduler has picked a node for a pod that uses it (a stand-in Node
 * object this test creates; no kubelet runs it).
 */
import { deployNfs, NfsDeployment, nfsTestEnv, NfsTestEnv, waitForDefaultServiceAccount } from './fixture';
import { VolumeBindingMode } from '../../../src/constructs/common/storage-class-ref';
import { K8S } from '../../../src/contract/keys';
import { paths, sleep, useNfsDeployment, waitForClaimBound, waitForEvent, waitForObject } from '../support';

let env: NfsTestEnv;
let d: NfsDeployment;
let node: string;

useNfsDeployment({
  deploy: async () => {
    env = nfsTestEnv();
    d = await deployNfs(env, {
      prefix: 'wffc',
      replicas: 1,
      classes: {
        Late: { pathPattern: '${.PVC.namespace}/${.PVC.name}', volumeBindingMode: VolumeBindingMode.WAIT_FOR_FIRST_CONSUMER },
        Now: { pathPattern: '${.PVC.namespace}/${.PVC.name}' },
      },
    });
    node = `${d.claimsNamespace}-node`;
    return d;
  },
  startController: true,
  ready: () => waitForDefaultServiceAccount(env.kube, d.claimsNamespace),
  cleanUp: async () => {
    if (node) await env.kube.delete(paths.node(node)).catch(() => undefined);
  },
});

test('no volume until the scheduler has placed a pod that uses the claim; then one, and the pod lands on that node', async () => {
  await d.createClaim('late', 'Late');
  // The PV controller reports that the claim waits for a consumer ...
  await waitForEvent(env.kube, d.claimsNamespace, 'late', 'WaitForFirstConsumer');
  // ... and even a claim already handed to this provisioner waits for the node.
  await env.kube.patch(paths.pvc(d.claimsNamespace, 'late'), { metadata: { annotations: { [K8S.storageProvisioner]: d.provisionerName } } });
  // An Immediate claim created afterwards is provisioned: the controller has looked at both.
  await d.createClaim('barrier', 'Now');
  await waitForClaimBound(env.kube, d.claimsNamespace, 'barrier');
  await sleep(2_000);
  const waiting = (await env.kube.get(paths.pvc(d.claimsNamespace, 'late')))!;
  expect(waiting.status.phase).toBe('Pending');
  expect(waiting.metadata.annotations?.[K8S.selectedNode]).toBeUndefined();
  expect((await d.volumes()).map((pv) => pv.spec.claimRef.name)).toEqual(['barrier']);

  // A node, and a pod that needs the claim and can only run there.
  await env.cp.createNode(node, { 'e2e.cdk8s-storage.dev/node': node });
  await env.kube.create(paths.pod(d.claimsNamespace), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'consumer', namespace: d.claimsNamespace },
    spec: {
      nodeSelector: { 'e2e.cdk8s-storage.dev/node': node },
      containers: [{
        name: 'app',
        image: 'busybox',
        resources: { requests: { cpu: '10m', memory: '16Mi' } },
        volumeMounts: [{ name: 'data', mountPath: '/data' }],
      }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'late' } }],
    },
  });

  const bound = await waitForClaimBound(env.kube, d.claimsNamespace, 'late');
  expect(bound.metadata.annotations[K8S.selectedNode]).toBe(node);
  const pv = (await env.kube.get(paths.pv(bound.spec.volumeName)))!;
  expect(pv.spec.nfs.path).toBe(`${d.exportPath}/${d.claimsNamespace}/late`);
  // The scheduler finishes binding the pod once its volume is there.
  const pod = await waitForObject(env.kube, paths.pod(d.claimsNamespace, 'consumer'), (p) => Boolean(p.spec?.nodeName));
  expect(pod.spec.nodeName).toBe(node);
  expect((await d.volumes()).map((v) => v.spec.claimRef.name).sort()).toEqual(['barrier', 'late']);
});

/**
 * Scenario 3 on the real node: two replicas of the NFS controller synthesized by
 * NfsProvisioner (its default of 2) run as pods from the image. `kubectl delete pod` of the
 * leader (the kubelet sends SIGTERM to PID 1, the controller releases its Lease) lets
 * another instance take over well under the lease duration: the standby, or the pod the
 * Deployment starts in the deleted one's place when it is quicker (both race for the
 * released Lease, as in any cluster; the test prints which); a kill -9 of the leader's container
 * process on the host (a crash: nothing released) lets another instance take over once the
 * Lease has run out. Claims created before, during and after each takeover are each
 * provisioned exactly once: one PV and one directory per claim, every claim Bound, one
 * `provision succeeded` per claim across every pod's log.
 *
 * The controller's lease duration is 15 s (core/leader.ts; no flag changes it), renewed
 * every 2 s.
 *
 * Stand-ins (nfsControllerOnTestNode): the locally loaded image with imagePullPolicy Never;
 * a toleration of the node's taint and a nodeSelector for it; the host network with
 * KUBERNETES_SERVICE_HOST=127.0.0.1 and the API port (pods here have only `lo`, the API
 * server listens on loopback); the export volume as a hostPath onto the directory
 * nfs-ganesha exports (the kernel here has no NFS client). In the host network two replicas
 * of one Deployment would need the same HTTP port on one node, so the Deployment is applied
 * as two one-replica Deployments (`-a`, `-b`) that differ only in name, a label and their
 * HTTP port: the same pod template, ServiceAccount and Lease.
 */
import * as fs from 'fs';
import { allowStandInPods, containerStatus, followLogs, holderPod, isReady, nfsControllerOnTestNode, podLogs, podsOf, removeControllerPods, waitForReadyPods } from './nfs-controller-pods';
import { OnDelete } from '../../../src/constructs/nfs';
import { connect, TestNode } from '../harness';
import { freePort } from '../harness/proc';
import { deployNfs, NfsDeployment, nfsTestEnv, NfsTestEnv, waitForEntries } from '../nfs/fixture';
import { assertNoForbidden, eventually, KubeObject, LogLine, paths, scaled, waitForClaimsBound } from '../support';

/** The controller's Lease duration (core/leader.ts). */
const LEASE_DURATION_MS = 15_000;
const CLAIMS_PER_PHASE = 4;

let env: NfsTestEnv;
let node: TestNode;
let d: NfsDeployment | undefined;
let replicas: KubeObject[] = [];

async function lease(): Promise<KubeObject> {
  return (await env.kube.get(paths.lease(d!.namespace, d!.leaseName)))!;
}

/** The Ready pods of both replicas, and which one holds the Lease. */
async function leaderAndStandby(): Promise<{ leader: KubeObject; standby: KubeObject }> {
  return eventually('one Ready replica to hold the Lease and the other to stand by', async () => {
    const pods = (await Promise.all(replicas.map((r) => podsOf(env.kube, r)))).flat();
    const holder = holderPod(await lease());
    const leader = pods.find((p) => p.metadata.name === holder);
    const standby = pods.find((p) => p !== leader);
    return pods.length === 2 && leader && standby && pods.every(isReady) ? { leader, standby } : undefined;
  });
}

async function createClaims(phase: string): Promise<void> {
  await Promise.all(Array.from({ length: CLAIMS_PER_PHASE }, (_, i) => d!.createClaim(`${phase}-${i}`, 'Shared')));
}

function provisioned(lines: readonly LogLine[]): string[] {
  return lines.filter((l) => l.entry?.msg === 'provision succeeded').map((l) => String(l.entry!.claim));
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

beforeAll(async () => {
  env = nfsTestEnv();
  node = connect().node;
  d = await deployNfs(env, {
    prefix: 'pod-takeover',
    classes: { Shared: { pathPattern: '${.PVC.namespace}/${.PVC.name}', onDelete: OnDelete.DELETE } },
  });
  await allowStandInPods(env.cp, d.namespace);
  const deployment = d.manifests.one('Deployment');
  expect(deployment.spec.replicas).toBe(2);
  const apiPort = Number(new URL(env.cp.server).port);
  for (const replica of ['a', 'b']) {
    const httpPort = await freePort();
    replicas.push(nfsControllerOnTestNode(deployment, { image: node.controllerImage, apiPort, httpPort, exportDir: d.root, replica }));
  }
});

afterAll(async () => {
  try {
    if (env) await removeControllerPods(env.cp, env.kube, replicas);
  } finally {
    await d?.cleanUp();
  }
});

test('3: delete the leader pod -> another instance takes over at once; kill -9 the leader container -> takeover once the Lease runs out; every claim provisioned exactly once', async () => {
  const applied = Date.now();
  await env.cp.applyYaml(replicas);
  await Promise.all(replicas.map((r) => waitForReadyPods(env.kube, r, 1)));
  console.log(`[node] two NFS controller pods Ready ${seconds(Date.now() - applied)} after apply`);
  const first = await leaderAndStandby();
  await createClaims('before');
  await waitForClaimsBound(env.kube, d!.claimsNamespace, { expectCount: CLAIMS_PER_PHASE });

  // Graceful: `kubectl delete pod` of the leader; claims keep coming meanwhile.
  const transitions = (await lease()).spec.leaseTransitions ?? 0;
  const deletedLogs = followLogs(env.cp, first.leader);
  await deletedLogs.following;
  const deletedAt = Date.now();
  await Promise.all([
    env.cp.kubectl(['delete', 'pod', first.leader.metadata.name, '-n', d!.namespace, '--wait=false']),
    createClaims('during-delete'),
  ]);
  const afterDelete = await eventually('another instance to hold the Lease', async () => {
    const l = await lease();
    return holderPod(l) !== undefined && holderPod(l) !== first.leader.metadata.name ? l : undefined;
  }, { timeoutMs: scaled(3 * LEASE_DURATION_MS) });
  const takeoverAfterDelete = Date.parse(afterDelete.spec.acquireTime) - deletedAt;
  console.log(`[node] takeover after kubectl delete pod of the leader: ${seconds(takeoverAfterDelete)} `
    + `(lease ${seconds(LEASE_DURATION_MS)}; new leader ${holderPod(afterDelete) === first.standby.metadata.name ? 'the standby' : 'the replacement pod'})`);
  // The deleted pod released the Lease on SIGTERM, so nobody waited for it to run out.
  expect(takeoverAfterDelete).toBeLessThan(LEASE_DURATION_MS);
  expect(afterDelete.spec.leaseTransitions).toBe(transitions + 1);
  const deleted = await deletedLogs.lines;
  expect(deleted.find((l) => l.entry?.msg === 'shutting down')?.entry?.signal).toBe('SIGTERM');
  expect(deleted.map((l) => l.entry?.msg)).toContain('released the Lease');

  // A crash: kill -9 of the leader container's process on the host; claims keep coming.
  const second = await leaderAndStandby();
  const killedIdentity: string = (await lease()).spec.holderIdentity;
  expect(holderPod(await lease())).toBe(second.leader.metadata.name);
  const pid = await node.containerPid(containerStatus(second.leader).containerID);
  const killedAt = Date.now();
  process.kill(pid, 'SIGKILL');
  await eventually(`the leader's process ${pid} to be gone`, async () => !fs.existsSync(`/proc/${pid}`));
  const lastRenewal = Date.parse((await lease()).spec.renewTime);
  await createClaims('during-kill');
  const afterKill = await eventually('another instance to hold the Lease', async () => {
    const l = await lease();
    return l.spec.holderIdentity && l.spec.holderIdentity !== killedIdentity ? l : undefined;
  }, { timeoutMs: scaled(3 * LEASE_DURATION_MS) });
  const tookAt = Date.parse(afterKill.spec.acquireTime);
  console.log(`[node] takeover after kill -9 of the leader container: ${seconds(tookAt - killedAt)} after the kill, `
    + `${seconds(tookAt - lastRenewal)} after its last renewal (lease ${seconds(LEASE_DURATION_MS)}; new leader `
    + `${holderPod(afterKill) === second.standby.metadata.name ? 'the standby' : 'the killed pod, restarted'})`);
  // The dead leader's Lease is honoured until it runs out (same clock: only rounding allowed for).
  expect(tookAt - lastRenewal).toBeGreaterThanOrEqual(LEASE_DURATION_MS - 100);

  // The kubelet restarted the killed container in its pod; both replicas are Ready again.
  const restarted = await eventually('the killed container to be restarted and Ready', async () => {
    const pods = (await Promise.all(replicas.map((r) => podsOf(env.kube, r)))).flat();
    const pod = pods.find((p) => p.metadata.name === second.leader.metadata.name);
    return pod && containerStatus(pod).restartCount === 1 && containerStatus(pod).ready ? pod : undefined;
  });
  const { leader, standby } = await leaderAndStandby();
  // The four starts: the deleted pod, the killed container, and the two running now.
  const ended = [...deleted, ...await podLogs(env.cp, restarted, { previous: true })];
  const allLogs = async () => [...ended, ...await podLogs(env.cp, leader), ...await podLogs(env.cp, standby)];
  // The kill left the Lease held: only the deleted pod released it.
  expect((await allLogs()).filter((l) => l.entry?.msg === 'released the Lease').length).toBe(1);

  // Every claim Bound, provisioned once: one PV named after it, one directory, one log line.
  const claims = await waitForClaimsBound(env.kube, d!.claimsNamespace, { expectCount: 3 * CLAIMS_PER_PHASE });
  const volumes = await d!.volumes();
  expect(volumes.map((pv) => pv.metadata.name).sort()).toEqual(claims.map((c) => `pvc-${c.metadata.uid}`).sort());
  expect(volumes.map((pv) => pv.spec.claimRef.uid).sort()).toEqual(claims.map((c) => c.metadata.uid).sort());
  await waitForEntries(d!.root, [d!.claimsNamespace]);
  await waitForEntries(`${d!.root}/${d!.claimsNamespace}`, claims.map((c) => c.metadata.name));
  const expected = claims.map((c) => `${d!.claimsNamespace}/${c.metadata.name}`).sort();
  // A claim can be Bound a moment before its provisioner has written the log line.
  const all = await eventually('every provisioning in the logs', async () => {
    const lines = provisioned(await allLogs());
    return lines.length >= expected.length ? lines : undefined;
  });
  expect(all.sort()).toEqual(expected);
  assertNoForbidden(await allLogs(), 'kubectl logs of the controller pods');
});

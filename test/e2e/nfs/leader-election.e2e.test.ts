/**
 * Scenario 5: two replicas of the synthesized Deployment. Exactly one
 * provisions while the other stands by; after the leader is killed (-9, so it
 * cannot release the Lease) the standby takes over once the Lease expires, and
 * no claim is provisioned twice.
 */
import { deployNfs, NfsDeployment, nfsTestEnv, NfsTestEnv, waitForEntries } from './fixture';
import { OnDelete } from '../../../src/constructs/nfs';
import {
  ControllerProcess, eventually, KubeObject, paths, scaled, useNfsDeployment, waitForClaimsBound,
} from '../support';

/** The controller's Lease duration (kube/leader.ts); the takeover may take up to this plus a retry period. */
const LEASE_DURATION_MS = 15_000;
const CLAIMS_PER_PHASE = 10;

let env: NfsTestEnv;
let d: NfsDeployment;
const { controllers } = useNfsDeployment({
  deploy: async () => {
    env = nfsTestEnv();
    return (d = await deployNfs(env, {
      prefix: 'leader',
      // The construct's default is 2 replicas: run both.
      classes: { Shared: { pathPattern: '${.PVC.namespace}/${.PVC.name}', onDelete: OnDelete.DELETE } },
    }));
  },
});

async function lease(): Promise<KubeObject | undefined> {
  return env.kube.get(paths.lease(d.namespace, d.leaseName));
}

/** Which replica holds the Lease (identities are `<POD_NAME>_<random>`). */
async function holderOf(replicas: ControllerProcess[]): Promise<ControllerProcess | undefined> {
  const holder: string | undefined = (await lease())?.spec?.holderIdentity;
  return holder ? replicas.find((r) => holder.startsWith(`${r.podName}_`)) : undefined;
}

function provisioned(replica: ControllerProcess): string[] {
  return replica.entries('provision succeeded').map((e) => String(e.claim));
}

async function createClaims(names: string[]): Promise<void> {
  await Promise.all(names.map((n) => d.createClaim(n, 'Shared')));
}

test('one replica provisions, the other stands by; kill -9 the leader and the standby takes over; nothing is provisioned twice', async () => {
  const deployment = d.manifests.one('Deployment');
  expect(deployment.spec.replicas).toBe(2);
  const replicas = await Promise.all([d.startController(controllers), d.startController(controllers)]);

  const leader = await eventually('one replica to hold the Lease', () => holderOf(replicas));
  const standby = replicas.find((r) => r !== leader)!;
  await leader.waitForLog('caches synced; working');
  await standby.waitForLog('standing by: another instance holds the Lease');
  expect((await standby.http('/readyz'))).toEqual({ status: 200, body: 'ok: standby\n' });
  expect((await leader.http('/readyz'))).toEqual({ status: 200, body: 'ok: leader, caches synced\n' });

  // Phase 1: the leader provisions everything, the standby nothing.
  const phase1 = Array.from({ length: CLAIMS_PER_PHASE }, (_, i) => `before-${i}`);
  await createClaims(phase1);
  await waitForClaimsBound(env.kube, d.claimsNamespace, { expectCount: phase1.length });
  // A claim can be Bound a moment before its provisioner has written the log line.
  await eventually('the leader to log every provisioning', async () => provisioned(leader).length >= phase1.length);
  expect(provisioned(leader).sort()).toEqual(phase1.map((n) => `${d.claimsNamespace}/${n}`).sort());
  expect(provisioned(standby)).toEqual([]);
  expect(standby.entries('became leader')).toEqual([]);

  // Phase 2: a crash of the leader; claims keep coming while nobody leads.
  const transitionsBefore = (await lease())!.spec.leaseTransitions ?? 0;
  const killedAt = Date.now();
  await leader.kill('SIGKILL');
  // The dead leader's last renewal: the Lease is its until a lease duration after that.
  const lastRenewal = Date.parse((await lease())!.spec.renewTime);
  const phase2 = Array.from({ length: CLAIMS_PER_PHASE }, (_, i) => `after-${i}`);
  await createClaims(phase2);

  // Generous bound (3 lease durations): the machine is shared, timings are reported, not asserted tightly.
  const took = await standby.waitForLog('became leader', { timeoutMs: scaled(3 * LEASE_DURATION_MS) });
  const tookAt = Date.parse(String(took.time));
  process.stderr.write(`[e2e] leader election: standby took over ${((tookAt - killedAt) / 1000).toFixed(1)} s after kill -9 of the leader, `
    + `${((tookAt - lastRenewal) / 1000).toFixed(1)} s after its last renewal (lease ${LEASE_DURATION_MS / 1000} s)\n`);
  // Not before the Lease expired (the dead leader never released it); same clock, so only rounding is allowed for.
  expect(tookAt - lastRenewal).toBeGreaterThanOrEqual(LEASE_DURATION_MS - 100);
  const after = (await lease())!;
  expect(after.spec.holderIdentity.startsWith(`${standby.podName}_`)).toBe(true);
  expect(after.spec.leaseTransitions).toBe(transitionsBefore + 1);

  const claims = await waitForClaimsBound(env.kube, d.claimsNamespace, { expectCount: phase1.length + phase2.length });
  await eventually('the new leader to log every provisioning', async () => provisioned(standby).length >= phase2.length);
  expect(provisioned(standby).sort()).toEqual(phase2.map((n) => `${d.claimsNamespace}/${n}`).sort());

  // Exactly one PV per claim, named after it, and one directory per claim.
  const volumes = await d.volumes();
  expect(volumes.map((pv) => pv.metadata.name).sort()).toEqual(claims.map((c) => `pvc-${c.metadata.uid}`).sort());
  expect(volumes.map((pv) => pv.spec.claimRef.uid).sort()).toEqual(claims.map((c) => c.metadata.uid).sort());
  await waitForEntries(d.root, [d.claimsNamespace]);
  await waitForEntries(`${d.root}/${d.claimsNamespace}`, claims.map((c) => c.metadata.name));
  // Across both replicas' logs every claim was provisioned exactly once.
  const all = [...provisioned(leader), ...provisioned(standby)];
  expect(all.length).toBe(new Set(all).size);

  // The killed replica comes back (a new pod) as the standby.
  await leader.start();
  await leader.waitForLog('standing by: another instance holds the Lease');
  await eventually('the restarted replica to report standby', async () => (await leader.http('/readyz')).body === 'ok: standby\n');
});

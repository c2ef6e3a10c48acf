/**
 * Scenario 7: the controller is killed (-9) at random points while a burst of
 * 100 claims is created and some of them deleted again, and restarted each
 * time (a pod crash; the new process waits for the dead one's Lease to expire).
 * In the end every claim is Bound or deleted as asked: one PV per remaining
 * claim, no PV for a deleted one, and exactly one directory per remaining claim
 * (no orphan left by a crash between making a directory and creating its PV).
 *
 * Random choices come from a seed printed at the start; E2E_SEED=<n> replays them.
 */
import { deployNfs, NfsDeployment, nfsTestEnv, NfsTestEnv, subdirectories } from './fixture';
import { OnDelete } from '../../../src/nfs';
import { ControllerProcess, eventually, KubeObject, paths, scaled, sleep, useControllers } from '../support';

const CLAIMS = 100;
const DELETED = 35;
const KILLS = 3;
/** The controller's Lease duration: a restarted process waits this long for the killed one's Lease. */
const LEASE_DURATION_MS = 15_000;

const controllers = useControllers();
let env: NfsTestEnv;
let d: NfsDeployment;

/** Park-Miller: small, seedable, good enough to pick test timings. */
function rng(seed: number): () => number {
  let state = (Math.abs(Math.floor(seed)) % 2147483646) + 1;
  return () => {
    state = (state * 48271) % 2147483647;
    return (state - 1) / 2147483646;
  };
}

beforeAll(async () => {
  env = nfsTestEnv();
  d = await deployNfs(env, {
    prefix: 'crash',
    replicas: 1,
    classes: { Burst: { pathPattern: '${.PVC.namespace}/${.PVC.name}', onDelete: OnDelete.DELETE } },
  });
});

afterAll(async () => {
  await controllers.stopAll();
  await d?.cleanUp();
});

test('kill -9 at random points of a burst of 100 claims and deletions: every claim ends Bound or deleted, no orphan, no duplicate', async () => {
  const seed = Number(process.env.E2E_SEED ?? Date.now() % 1_000_000);
  process.stderr.write(`[e2e] crash burst: seed ${seed} (E2E_SEED=${seed} replays the choices)\n`);
  const random = rng(seed);
  const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo));

  const names = Array.from({ length: CLAIMS }, (_, i) => `c-${String(i).padStart(3, '0')}`);
  const toDelete = new Set([...names].sort(() => random() - 0.5).slice(0, DELETED));
  // Each deleted claim goes away at its own moment: before, during or after its provisioning.
  const deleteAfterMs = new Map([...toDelete].map((n) => [n, between(0, 6_000)]));
  const createGapsMs = names.map(() => between(0, 700));
  const killDelaysMs = Array.from({ length: KILLS }, () => between(0, 2_500));

  const controller: ControllerProcess = await d.startController(controllers);
  await controller.waitForLog('caches synced; working');

  // The burst: creations with random gaps, each deletion scheduled after its creation.
  const deletions: Array<Promise<unknown>> = [];
  const burst = (async () => {
    for (const [i, name] of names.entries()) {
      await d.createClaim(name, 'Burst');
      if (toDelete.has(name)) {
        deletions.push(sleep(deleteAfterMs.get(name)!).then(() => env.kube.delete(paths.pvc(d.claimsNamespace, name))));
      }
      await sleep(createGapsMs[i]);
    }
    await Promise.all(deletions);
  })();

  // The crashes: each at a random moment after the controller started working again.
  const killPoints: string[] = [];
  for (const delay of killDelaysMs) {
    await sleep(delay);
    const done = controller.entries('provision succeeded').length + controller.entries('delete succeeded').length;
    killPoints.push(`${delay} ms after it started working (${done} operations done so far)`);
    await controller.crashAndRestart();
    // Only one pod can be killed at a time: wait until the new one has taken over.
    await controller.waitForLog('caches synced; working', { timeoutMs: scaled(4 * LEASE_DURATION_MS) });
  }
  await burst;
  process.stderr.write(`[e2e] crash burst: killed -9 ${killPoints.length} times: ${killPoints.join('; ')}\n`);

  // The end state, reached by the last process.
  const remaining = names.filter((n) => !toDelete.has(n));
  let problems: string[] = [];
  await eventually('every claim Bound or deleted as asked, with exactly its own PV and directory', async () => {
    const claims = await env.kube.list(paths.pvc(d.claimsNamespace));
    const volumes = await d.volumes();
    const dirs = subdirectories(`${d.root}/${d.claimsNamespace}`);
    problems = endStateProblems(remaining, claims, volumes, dirs, subdirectories(d.root), d.claimsNamespace);
    return problems.length === 0;
  }, { timeoutMs: scaled(300_000), intervalMs: 1_000, describe: () => problems.slice(0, 40).join('\n') });

  // Every volume's directory is the one named after its claim.
  for (const pv of await d.volumes()) {
    expect(pv.spec.nfs.path).toBe(`${d.exportPath}/${d.claimsNamespace}/${pv.spec.claimRef.name}`);
  }
  expect(controller.starts).toBe(KILLS + 1);
});

/** What differs from the expected end state (empty when it is reached). */
function endStateProblems(
  remaining: string[],
  claims: KubeObject[],
  volumes: KubeObject[],
  dirs: string[],
  top: string[],
  namespace: string,
): string[] {
  const problems: string[] = [];
  const claimNames = claims.map((c) => c.metadata.name).sort();
  if (JSON.stringify(claimNames) !== JSON.stringify(remaining)) {
    problems.push(`claims: extra ${claimNames.filter((n) => !remaining.includes(n))}, missing ${remaining.filter((n) => !claimNames.includes(n))}`);
  }
  for (const c of claims) {
    if (c.status?.phase !== 'Bound') problems.push(`claim ${c.metadata.name} is ${c.status?.phase}`);
  }
  const expectedVolumes = claims.map((c) => `pvc-${c.metadata.uid}`).sort();
  const volumeNames = volumes.map((v) => v.metadata.name).sort();
  const extraVolumes = volumes.filter((v) => !expectedVolumes.includes(v.metadata.name));
  for (const v of extraVolumes) problems.push(`PV ${v.metadata.name} of claim ${v.spec.claimRef?.name} (${v.status?.phase}) should not exist`);
  for (const v of expectedVolumes.filter((n) => !volumeNames.includes(n))) problems.push(`PV ${v} is missing`);
  if (JSON.stringify(dirs) !== JSON.stringify(remaining)) {
    problems.push(`directories: orphans ${dirs.filter((n) => !remaining.includes(n))}, missing ${remaining.filter((n) => !dirs.includes(n))}`);
  }
  if (JSON.stringify(top) !== JSON.stringify([namespace])) {
    problems.push(`root holds ${top.join(', ')}, expected only ${namespace}`);
  }
  return problems;
}

/**
 * Scenario 7, crashes, as functions: the e2e test files run each once and
 * assert on what they return; the soak (test/e2e/soak.ts) runs them in a loop
 * and counts orphans and duplicates (export-audit.ts).
 *
 * Each takes a fresh deployment (`deployCrashTarget`) and the Controllers that
 * start its processes; the caller stops those and cleans the deployment up.
 * A step that cannot be reached throws; the end state is waited for and what
 * is still wrong when the wait gives up is returned as `problems`.
 */
import * as path from 'path';
import { deployNfs, NfsDeployment, NfsTestEnv, subdirectories } from './fixture';
import { OnDelete } from '../../../src/constructs/nfs';
import {
  ControllerProcess, Controllers, eventually, KubeError, KubeObject, LogEntry, paths, scaled, SEED_ENV, SeededRandom, sleep,
  waitForClaimBound, waitForEvent, waitForGone,
} from '../support';

/** The controller's Lease duration: a restarted process waits this long for the killed one's Lease. */
const LEASE_DURATION_MS = 15_000;

/** One provisioner with one class whose directories are `<namespace>/<claim name>`, deleted with their claims. */
export function deployCrashTarget(env: NfsTestEnv, prefix: string): Promise<NfsDeployment> {
  return deployNfs(env, {
    prefix,
    replicas: 1,
    classes: { Burst: { pathPattern: '${.PVC.namespace}/${.PVC.name}', onDelete: OnDelete.DELETE } },
  });
}

/** Polls `problemsNow` until it finds none; returns what was still wrong when the wait gave up (empty when reached). */
async function settle(what: string, problemsNow: () => Promise<string[]>, timeoutMs: number): Promise<string[]> {
  let problems: string[] = [`${what}: never checked`];
  await eventually(what, async () => {
    problems = await problemsNow();
    return problems.length === 0;
  }, { timeoutMs, intervalMs: 1_000 }).catch(() => undefined);
  return problems;
}

export interface CrashWindowOutcome {
  /** The ProvisioningFailed messages of the two claims held before the crash. */
  readonly refusals: string[];
  /** The claims' namespace directory just before the crash. */
  readonly directoriesAtCrash: string[];
  /** NFS path of the remaining claim's PV. */
  readonly keptVolumePath: string;
  /** `provision succeeded` log entries of the restarted process. */
  readonly provisionsAfterRestart: LogEntry[];
  /** What differs from the end state (the deleted claim's directory and every note gone). */
  readonly problems: string[];
}

/**
 * The narrow window made wide: a crash after a claim's directory was made and
 * before its PV exists. A ValidatingAdmissionPolicy refuses the PVs of chosen
 * claims, so the controller stops exactly there (directory made, PV refused) for
 * as long as the scenario wants; then the controller is killed -9. One claim is
 * deleted while it is down (its directory must go), the other one remains (it
 * must get its volume, in the directory made before the crash).
 */
export async function crashWindow(env: NfsTestEnv, d: NfsDeployment, controllers: Controllers): Promise<CrashWindowOutcome> {
  const policy = `${d.claimsNamespace}-refuse-pvs`;
  try {
    const controller = await d.startController(controllers);
    await controller.waitForLog('caches synced; working');
    await refuseStuckVolumes(env, d, policy);
    // The API server words a policy's refusal "is forbidden" (with status 422): those lines are this scenario's doing.
    controllers.allowForbiddenDuring({ matching: new RegExp(`ValidatingAdmissionPolicy '${policy}'`), because: 'the test refuses these PVs' });

    // Two claims get as far as their directories; their PVs are refused.
    const refusals: string[] = [];
    for (const name of ['stuck-gone', 'stuck-kept']) {
      await d.createClaim(name, 'Burst');
      refusals.push((await waitForEvent(env.kube, d.claimsNamespace, name, 'ProvisioningFailed')).message);
    }
    const nsDir = path.join(d.root, d.claimsNamespace);
    const directoriesAtCrash = subdirectories(nsDir);

    // The crash, and one of the claims deleted while nobody runs.
    await controller.kill('SIGKILL');
    await env.kube.delete(paths.pvc(d.claimsNamespace, 'stuck-gone'));
    await waitForGone(env.kube, paths.pvc(d.claimsNamespace, 'stuck-gone'));
    await removePolicy(env, policy);
    // Removal takes effect asynchronously too: a restart into a policy still enforced would
    // see the PV refused again and wait out growing retry delays.
    await eventually('the admission policy to accept PVs again', async () => {
      await env.kube.request('POST', `${paths.pv()}?dryRun=All`, stuckProbe(env, d, policy));
      return true;
    });

    await controller.start();
    await controller.waitForLog('caches synced; working', { timeoutMs: scaled(120_000) });
    const kept = await waitForClaimBound(env.kube, d.claimsNamespace, 'stuck-kept');
    const pv = (await env.kube.get(paths.pv(kept.spec.volumeName)))!;
    await controller.waitForLog('provision succeeded');

    const problems = await settle('the deleted claim\'s directory and every note to be gone', async () => {
      const found: string[] = [];
      const left = subdirectories(nsDir);
      if (JSON.stringify(left) !== JSON.stringify(['stuck-kept'])) found.push(`${nsDir} holds ${left.join(', ')}, expected only stuck-kept`);
      const top = subdirectories(d.root);
      if (JSON.stringify(top) !== JSON.stringify([d.claimsNamespace])) found.push(`${d.root} holds ${top.join(', ')}, expected only ${d.claimsNamespace}`);
      return found;
    }, scaled(120_000));
    return {
      refusals,
      directoriesAtCrash,
      keptVolumePath: pv.spec.nfs.path,
      provisionsAfterRestart: controller.entries('provision succeeded', { currentOnly: true }),
      problems,
    };
  } finally {
    await removePolicy(env, policy);
  }
}

const POLICY_PATH = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies';
const BINDING_PATH = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings';

/** Refuses (422, not 403) every PV whose claim in the deployment's namespace has a name starting with "stuck". */
async function refuseStuckVolumes(env: NfsTestEnv, d: NfsDeployment, policy: string): Promise<void> {
  await env.kube.create(POLICY_PATH, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: policy },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['persistentvolumes'] }] },
      validations: [{
        expression: `!has(object.spec.claimRef) || object.spec.claimRef.namespace != '${d.claimsNamespace}' || !object.spec.claimRef.name.startsWith('stuck')`,
        message: 'refused by the e2e test to hold the controller between directory and PV',
      }],
    },
  });
  await env.kube.create(BINDING_PATH, {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: policy },
    spec: { policyName: policy, validationActions: ['Deny'] },
  });
  // Policies take effect asynchronously: wait until a dry-run create is refused.
  await eventually('the admission policy to refuse PVs', async () => {
    try {
      await env.kube.request('POST', `${paths.pv()}?dryRun=All`, stuckProbe(env, d, policy));
      return false;
    } catch (err) {
      return err instanceof KubeError && err.status === 422;
    }
  });
}

/** A PV the policy refuses, for dry-run creates that tell whether it is enforced. */
function stuckProbe(env: NfsTestEnv, d: NfsDeployment, policy: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: { name: `${policy}-probe` },
    spec: {
      capacity: { storage: '1Gi' },
      accessModes: ['ReadWriteOnce'],
      nfs: { server: env.nfs.host, path: '/probe' },
      claimRef: { namespace: d.claimsNamespace, name: 'stuck-probe' },
    },
  };
}

async function removePolicy(env: NfsTestEnv, policy: string): Promise<void> {
  await env.kube.delete(`${BINDING_PATH}/${policy}`).catch(() => undefined);
  await env.kube.delete(`${POLICY_PATH}/${policy}`).catch(() => undefined);
}

export interface CrashBurstOutcome {
  readonly seed: number;
  /** When each kill happened, for the failure message. */
  readonly killPoints: string[];
  /** Processes started (the first one and one per kill). */
  readonly starts: number;
  /** What differs from the end state (every claim Bound or deleted as asked, each with exactly its own PV and directory). */
  readonly problems: string[];
}

export const BURST = { claims: 100, deleted: 35, kills: 3 } as const;

/**
 * The controller is killed (-9) at random points while a burst of 100 claims is
 * created and some of them deleted again, and restarted each time (a pod crash;
 * the new process waits for the dead one's Lease to expire). Random choices come
 * from `seed`, printed at the start, so a run can be replayed.
 */
export async function crashBurst(d: NfsDeployment, controllers: Controllers, seed: number): Promise<CrashBurstOutcome> {
  process.stderr.write(`[e2e] crash burst: seed ${seed} (${SEED_ENV}=${seed} replays the choices)\n`);
  const seeded = new SeededRandom(seed);
  const random = () => seeded.next();
  const between = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo));

  const names = Array.from({ length: BURST.claims }, (_, i) => `c-${String(i).padStart(3, '0')}`);
  const toDelete = new Set([...names].sort(() => random() - 0.5).slice(0, BURST.deleted));
  // Each deleted claim goes away at its own moment: before, during or after its provisioning.
  const deleteAfterMs = new Map([...toDelete].map((n) => [n, between(0, 6_000)]));
  const createGapsMs = names.map(() => between(0, 700));
  const killDelaysMs = Array.from({ length: BURST.kills }, () => between(0, 2_500));

  const controller: ControllerProcess = await d.startController(controllers);
  await controller.waitForLog('caches synced; working');

  // The burst: creations with random gaps, each deletion scheduled after its creation.
  const deletions: Array<Promise<unknown>> = [];
  const burst = (async () => {
    for (const [i, name] of names.entries()) {
      await d.createClaim(name, 'Burst');
      if (toDelete.has(name)) {
        deletions.push(sleep(deleteAfterMs.get(name)!).then(() => d.env.kube.delete(paths.pvc(d.claimsNamespace, name))));
      }
      await sleep(createGapsMs[i]);
    }
    await Promise.all(deletions);
  })();

  // The crashes: each at a random moment after the controller started working again.
  const killPoints: string[] = [];
  try {
    for (const delay of killDelaysMs) {
      await sleep(delay);
      const done = controller.entries('provision succeeded').length + controller.entries('delete succeeded').length;
      killPoints.push(`${delay} ms after it started working (${done} operations done so far)`);
      await controller.crashAndRestart();
      // Only one pod can be killed at a time: wait until the new one has taken over.
      await controller.waitForLog('caches synced; working', { timeoutMs: scaled(4 * LEASE_DURATION_MS) });
    }
  } finally {
    await burst;
  }
  process.stderr.write(`[e2e] crash burst: killed -9 ${killPoints.length} times: ${killPoints.join('; ')}\n`);

  // The end state, reached by the last process.
  const remaining = names.filter((n) => !toDelete.has(n));
  const problems = await settle('every claim Bound or deleted as asked, with exactly its own PV and directory', async () => {
    const claims = await d.env.kube.list(paths.pvc(d.claimsNamespace));
    const volumes = await d.volumes();
    return burstEndStateProblems(remaining, claims, volumes, subdirectories(`${d.root}/${d.claimsNamespace}`), subdirectories(d.root), d.claimsNamespace);
  }, scaled(300_000));
  return { seed, killPoints, starts: controller.starts, problems };
}

/** What differs from the burst's expected end state (empty when it is reached). */
function burstEndStateProblems(
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

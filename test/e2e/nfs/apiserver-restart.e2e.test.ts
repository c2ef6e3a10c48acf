/**
 * Scenario 6: kube-apiserver restarts in the middle of a burst of claims. The
 * controller's watches break, its Lease renewals fail, and claims keep coming
 * while the API is down; afterwards every claim is Bound (none missed), once.
 */
import { deployCrashTarget } from './crash-scenarios';
import { NfsDeployment, nfsTestEnv, NfsTestEnv, waitForEntries } from './fixture';
import { eventually, KubeError, paths, scaled, sleep, useNfsDeployment, waitForClaimsBound } from '../support';

const CLAIMS = 60;
/** Claims created before the restart begins. */
const BEFORE_RESTART = 20;

let env: NfsTestEnv;
let d: NfsDeployment;
const { controllers } = useNfsDeployment({
  deploy: async () => {
    env = nfsTestEnv();
    // The crash scenarios' deployment: one replica, class Burst, a directory per claim.
    return (d = await deployCrashTarget(env, 'apirestart'));
  },
});

/** Creates a claim, retrying while the API server is away; an AlreadyExists after a lost response counts as created. */
async function createClaimSurely(name: string): Promise<void> {
  await eventually(`claim ${name} to be created`, async () => {
    try {
      await env.kube.ensure(paths.pvc(d.claimsNamespace), d.claim(name, 'Burst'));
      return true;
    } catch (err) {
      if (err instanceof KubeError && err.status >= 400 && err.status < 500 && err.status !== 429) {
        throw err;
      }
      return false;
    }
  }, { intervalMs: 200 });
}

test('every claim of a burst is Bound after kube-apiserver restarts in the middle of it', async () => {
  const controller = await d.startController(controllers);
  await controller.waitForLog('caches synced; working');

  const names = Array.from({ length: CLAIMS }, (_, i) => `burst-${String(i).padStart(3, '0')}`);
  let restartedAt = 0;
  let restartDoneAt = 0;
  let restart: Promise<void> | undefined;
  for (const [i, name] of names.entries()) {
    // Creates made while the API server is away wait for it to come back.
    await createClaimSurely(name);
    if (i === BEFORE_RESTART - 1) {
      // Let the controller get busy with the first ones, then pull the API server away.
      await sleep(300);
      restartedAt = Date.now();
      restart = env.cp.restartApiServer().then(() => {
        restartDoneAt = Date.now();
      });
    }
  }
  await restart;
  // A kube-apiserver that has just started answers 403 until its RBAC authorizer
  // has loaded the roles: not a missing permission. Only that span is excused
  // (with a moment for the controller to log what it got just before "ready").
  controllers.allowForbiddenDuring({ from: restartedAt, to: restartDoneAt + 1_000, because: 'kube-apiserver starting' });
  process.stderr.write(`[e2e] apiserver restart: down at ${new Date(restartedAt).toISOString()}, ready again ${((restartDoneAt - restartedAt) / 1000).toFixed(1)} s later\n`);

  const claims = await waitForClaimsBound(env.kube, d.claimsNamespace, { expectCount: CLAIMS, timeoutMs: scaled(300_000) });
  expect(claims.map((c) => c.metadata.name).sort()).toEqual(names);

  // Once each: one PV per claim, one directory per claim, one success per claim in the log.
  const volumes = await d.volumes();
  expect(volumes.map((pv) => pv.metadata.name).sort()).toEqual(claims.map((c) => `pvc-${c.metadata.uid}`).sort());
  await waitForEntries(d.root, [d.claimsNamespace]);
  await waitForEntries(`${d.root}/${d.claimsNamespace}`, names);
  const provisioned = controller.entries('provision succeeded').map((e) => String(e.claim));
  expect(provisioned.length).toBe(new Set(provisioned).size);

  // The process rode it out: still running, and the API came back to it.
  expect(controller.running).toBe(true);
  expect((await controller.http('/healthz')).status).toBe(200);
});

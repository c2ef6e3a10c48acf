/**
 * Scenario 7, the narrow window made wide: a crash after a claim's directory was
 * made and before its PV exists. A ValidatingAdmissionPolicy refuses the PVs of
 * chosen claims, so the controller stops exactly there (directory made, PV
 * refused) for as long as the test wants; then the controller is killed -9.
 * A claim deleted while it is down must not leave its directory behind; a
 * claim still there gets its volume, in the directory made before the crash.
 */
import * as path from 'path';
import { deployNfs, NfsDeployment, nfsTestEnv, NfsTestEnv, subdirectories, waitForEntries } from './fixture';
import { OnDelete } from '../../../src/nfs';
import {
  eventually, KubeError, KubeObject, paths, useControllers, waitForClaimBound, waitForEvent, waitForGone,
} from '../support';

const controllers = useControllers();
let env: NfsTestEnv;
let d: NfsDeployment;
let policy: string;

beforeAll(async () => {
  env = nfsTestEnv();
  d = await deployNfs(env, {
    prefix: 'window',
    replicas: 1,
    classes: { Burst: { pathPattern: '${.PVC.namespace}/${.PVC.name}', onDelete: OnDelete.DELETE } },
  });
  policy = `${d.claimsNamespace}-refuse-pvs`;
});

afterAll(async () => {
  await removePolicy();
  await controllers.stopAll();
  await d?.cleanUp();
});

const POLICY_PATH = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies';
const BINDING_PATH = '/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings';

/** Refuses (422, not 403) every PV whose claim in the test namespace has a name starting with "stuck". */
async function refuseStuckVolumes(): Promise<void> {
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
  const probe: KubeObject = {
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
  await eventually('the admission policy to refuse PVs', async () => {
    try {
      await env.kube.request('POST', `${paths.pv()}?dryRun=All`, probe);
      return false;
    } catch (err) {
      return err instanceof KubeError && err.status === 422;
    }
  });
}

async function removePolicy(): Promise<void> {
  if (!policy) return;
  await env.kube.delete(`${BINDING_PATH}/${policy}`).catch(() => undefined);
  await env.kube.delete(`${POLICY_PATH}/${policy}`).catch(() => undefined);
}

test('a crash between directory and PV: a claim deleted meanwhile leaves no directory, a remaining one reuses it', async () => {
  const controller = await d.startController(controllers);
  await controller.waitForLog('caches synced; working');
  await refuseStuckVolumes();
  // The API server words a policy's refusal "is forbidden" (with status 422): those lines are this test's doing.
  controllers.allowForbiddenDuring({ matching: new RegExp(`ValidatingAdmissionPolicy '${policy}'`), because: 'the test refuses these PVs' });

  // Two claims get as far as their directories; their PVs are refused.
  for (const name of ['stuck-gone', 'stuck-kept']) {
    await d.createClaim(name, 'Burst');
    const failed = await waitForEvent(env.kube, d.claimsNamespace, name, 'ProvisioningFailed');
    expect(failed.message).toContain('cannot create PersistentVolume');
  }
  const nsDir = path.join(d.root, d.claimsNamespace);
  expect(subdirectories(nsDir)).toEqual(['stuck-gone', 'stuck-kept']);

  // The crash, and one of the claims deleted while nobody runs.
  await controller.kill('SIGKILL');
  await env.kube.delete(paths.pvc(d.claimsNamespace, 'stuck-gone'));
  await waitForGone(env.kube, paths.pvc(d.claimsNamespace, 'stuck-gone'));
  await removePolicy();

  await controller.start();
  await controller.waitForLog('caches synced; working', { timeoutMs: 120_000 });

  const kept = await waitForClaimBound(env.kube, d.claimsNamespace, 'stuck-kept');
  const pv = (await env.kube.get(paths.pv(kept.spec.volumeName)))!;
  expect(pv.spec.nfs.path).toBe(`${d.exportPath}/${d.claimsNamespace}/stuck-kept`);
  await controller.waitForLog('provision succeeded');
  expect(controller.entries('provision succeeded', { currentOnly: true }))
    .toEqual([expect.objectContaining({ claim: `${d.claimsNamespace}/stuck-kept`, reused: true })]);

  // The deleted claim's directory is gone, and so are the controller's notes.
  await waitForEntries(nsDir, ['stuck-kept']);
  await waitForEntries(d.root, [d.claimsNamespace]);
});

/**
 * Volume expansion on the real control plane, by the controller bundle running under the
 * synthesized ServiceAccount and RBAC:
 * 1. an edit 1Gi -> 3Gi (synth + apply of the changed app) ends with PV and claim at 3Gi;
 * 2. a request above the class maximum is infeasible until it is lowered;
 * 4. claims of other provisioners are left alone;
 * 5. shrinking is refused by the API server itself;
 * and a restart in the middle of a resize completes it.
 */
import { Size } from 'cdk8s';
import { capacityOf, deployResizeApp, ResizeApp, resizeConditions, resizeEnv, ResizeEnv, waitBound } from './fixture';
import { K8S, PV_ANNOTATIONS } from '../../../src/contract/keys';
import { toYaml } from '../harness';
import { applyManifests, eventually, KubeObject, paths, scaled, sleep, useNfsDeployment, waitForObject } from '../support';

let env: ResizeEnv;
let app: ResizeApp;
const nfs = useNfsDeployment({
  deploy: async () => {
    env = resizeEnv();
    return (app = await deployResizeApp(env, {
      prefix: 'resize',
      classes: { Shared: { maxVolumeSize: Size.gibibytes(5) } },
      claims: {
        grow: { storage: Size.gibibytes(1), classId: 'Shared' },
        capped: { storage: Size.gibibytes(1), classId: 'Shared' },
        barrier: { storage: Size.gibibytes(1), classId: 'Shared' },
        crash: { storage: Size.gibibytes(1), classId: 'Shared' },
      },
    }));
  },
  startController: true,
  ready: () => waitBound(app, ['grow', 'capped', 'barrier', 'crash']),
});

const reasons = (events: KubeObject[]) => events.map((e) => `${e.type} ${e.reason}`);
/** Our resize events only (the claim also has Provisioning and ProvisioningSucceeded). */
const resizeReasons = (events: KubeObject[]) => reasons(events).filter((r) => /Resiz/.test(r));

test('1: editing storage in the app from 1Gi to 3Gi (synth, apply): PV and claim at 3Gi, no resize condition left, Resizing and VolumeResizeSuccessful', async () => {
  const started = Date.now();
  await applyManifests(env.cp, app.resynth({ grow: Size.gibibytes(3) }));
  const claim = await waitForObject(env.kube, paths.pvc(app.claimsNamespace, 'grow'), (c) => capacityOf(c) === '3Gi');
  const seconds = (Date.now() - started) / 1000;
  process.stderr.write(`[e2e] resize 1Gi -> 3Gi: status.capacity reached 3Gi ${seconds.toFixed(2)} s after kubectl apply started\n`);
  expect(seconds).toBeLessThan(scaled(30));

  expect(claim.spec.resources.requests.storage).toBe('3Gi');
  expect(resizeConditions(claim)).toEqual([]);
  expect(claim.status.allocatedResourceStatuses).toBeUndefined();
  expect(claim.status.allocatedResources).toEqual({ storage: '3Gi' });
  expect(claim.metadata.annotations[K8S.nodeExpansionNotRequired]).toBe('true');
  const pv = await app.volumeOf('grow');
  expect(pv.spec.capacity).toEqual({ storage: '3Gi' });
  expect(pv.metadata.annotations[PV_ANNOTATIONS.sizeLimit]).toBe('3Gi');

  const events = await eventually('Resizing and VolumeResizeSuccessful on the claim', async () => {
    const ours = await app.ourEvents('grow');
    return ['Normal Resizing', 'Normal VolumeResizeSuccessful'].every((r) => reasons(ours).includes(r)) ? ours : undefined;
  });
  // Each once (Event times have one-second resolution: their order is checked by the unit tests).
  expect(resizeReasons(events).sort()).toEqual(['Normal Resizing', 'Normal VolumeResizeSuccessful']);
  expect(events.find((e) => e.reason === 'Resizing')!.message).toBe(`External resizer is resizing volume ${pv.metadata.name} from 1Gi to 3Gi`);
  // Kubernetes itself only says it waits for us.
  expect(reasons(await app.events('grow'))).toEqual(expect.arrayContaining([expect.stringMatching(/ExternalExpanding$/)]));
});

test('2: above the class maximum: ControllerResizeInfeasible and a Warning naming the maximum; lowering the request succeeds', async () => {
  await app.setRequest('capped', '10Gi');
  const stuck = await waitForObject(env.kube, paths.pvc(app.claimsNamespace, 'capped'),
    (c) => c.status?.allocatedResourceStatuses?.storage === 'ControllerResizeInfeasible');
  expect(capacityOf(stuck)).toBe('1Gi');
  const error = stuck.status.conditions.find((c: KubeObject) => c.type === 'ControllerResizeError');
  expect(error).toMatchObject({ status: 'True', message: expect.stringContaining('allows at most 5Gi') });
  const warning = await eventually('a VolumeResizeFailed Warning', async () =>
    (await app.ourEvents('capped')).find((e) => e.type === 'Warning' && e.reason === 'VolumeResizeFailed'));
  expect(warning.message).toBe(`cannot resize to 10Gi: StorageClass "${app.classes.Shared}" allows at most 5Gi (maxVolumeSize). `
    + 'Lower spec.resources.requests.storage to 5Gi or less (it must stay above the current 1Gi); the resize then continues');
  expect((await app.volumeOf('capped')).spec.capacity).toEqual({ storage: '1Gi' });

  // The API server lets the request go down while it stays above status.capacity (KEP-1790).
  await app.setRequest('capped', '4Gi');
  const done = await waitForObject(env.kube, paths.pvc(app.claimsNamespace, 'capped'), (c) => capacityOf(c) === '4Gi');
  expect(resizeConditions(done)).toEqual([]);
  expect(done.status.allocatedResourceStatuses).toBeUndefined();
  expect((await app.volumeOf('capped')).spec.capacity).toEqual({ storage: '4Gi' });
  await eventually('VolumeResizeSuccessful', async () => reasons(await app.ourEvents('capped')).includes('Normal VolumeResizeSuccessful'));
});

test('4: claims of another provisioner (a static PV, another provisioner\'s PV) asking for more are left untouched', async () => {
  const ns = app.claimsNamespace;
  const otherClass = `${app.id}-other`;
  const foreign = [
    { name: 'static', annotations: undefined },
    { name: 'theirs', annotations: { [K8S.provisionedBy]: 'example.com/someone-else' } },
  ];
  await env.kube.create(paths.storageClass(), {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: otherClass },
    provisioner: 'example.com/someone-else',
    allowVolumeExpansion: true,
    reclaimPolicy: 'Retain',
  });
  try {
    for (const { name, annotations } of foreign) {
      await env.kube.create(paths.pv(), {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: `${app.id}-${name}`, annotations },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteMany'],
          persistentVolumeReclaimPolicy: 'Retain',
          storageClassName: otherClass,
          nfs: { server: env.nfs.host, path: env.nfs.exportPath },
          claimRef: { namespace: ns, name },
        },
      });
      await env.kube.create(paths.pvc(ns), {
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name, namespace: ns },
        spec: { accessModes: ['ReadWriteMany'], storageClassName: otherClass, volumeName: `${app.id}-${name}`, resources: { requests: { storage: '1Gi' } } },
      });
    }
    await waitBound(app, foreign.map((f) => f.name));
    for (const { name } of foreign) await app.setRequest(name, '2Gi');

    // A barrier: one of our claims edited after them is resized; the controller has seen them by then.
    await app.setRequest('barrier', '2Gi');
    await waitForObject(env.kube, paths.pvc(ns, 'barrier'), (c) => capacityOf(c) === '2Gi');
    await sleep(2000);

    for (const { name } of foreign) {
      const claim = await app.claim(name);
      expect(claim.spec.resources.requests.storage).toBe('2Gi');
      expect(capacityOf(claim)).toBe('1Gi');
      expect(claim.status.conditions ?? []).toEqual([]);
      expect(claim.status.allocatedResources).toBeUndefined();
      expect(claim.status.allocatedResourceStatuses).toBeUndefined();
      expect(claim.metadata.annotations ?? {}).not.toHaveProperty(K8S.nodeExpansionNotRequired);
      expect((await env.kube.get(paths.pv(`${app.id}-${name}`)))!.spec.capacity).toEqual({ storage: '1Gi' });
      expect(await app.ourEvents(name)).toEqual([]);
    }
  } finally {
    for (const { name } of foreign) {
      await env.kube.delete(paths.pvc(ns, name)).catch(() => undefined);
      await env.kube.delete(paths.pv(`${app.id}-${name}`)).catch(() => undefined);
    }
    await env.kube.delete(paths.storageClass(otherClass)).catch(() => undefined);
  }
});

test('5: shrinking is refused by the API server with its own message; nothing changes', async () => {
  // Test 1 left "grow" at 3Gi. The user lowers storage in the app and applies.
  const applied = await env.cp.kubectl(['apply', '-f', '-'], {
    input: toYaml(app.resynth({ grow: Size.gibibytes(1) }).ofKind('PersistentVolumeClaim').filter((c) => c.metadata.name === 'grow')),
    allowFailure: true,
  });
  expect(applied.code).not.toBe(0);
  expect(applied.stderr).toContain('The PersistentVolumeClaim "grow" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity');

  // The same through a plain patch.
  const patched = await env.cp.kubectl(['patch', 'pvc', 'grow', '-n', app.claimsNamespace, '--type=merge',
    '-p', JSON.stringify({ spec: { resources: { requests: { storage: '2Gi' } } } })], { allowFailure: true });
  expect(patched.stderr.trim()).toBe('The PersistentVolumeClaim "grow" is invalid: spec.resources.requests.storage: Forbidden: field can not be less than status.capacity');

  const claim = await app.claim('grow');
  expect(claim.spec.resources.requests.storage).toBe('3Gi');
  expect(capacityOf(claim)).toBe('3Gi');
  expect((await app.volumeOf('grow')).spec.capacity).toEqual({ storage: '3Gi' });
});

test('a controller killed in the middle of a resize finishes it after its restart', async () => {
  await nfs.controller.kill('SIGKILL');
  // The state a crash right after the first step leaves: request raised, claim marked.
  const edited = await app.setRequest('crash', '2Gi');
  await env.kube.request('PATCH', `${paths.pvc(app.claimsNamespace, 'crash')}/status`, {
    metadata: { resourceVersion: edited.metadata.resourceVersion },
    status: {
      conditions: [{ type: 'Resizing', status: 'True', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
      allocatedResources: { storage: '2Gi' },
      allocatedResourceStatuses: { storage: 'ControllerResizeInProgress' },
    },
  }, { contentType: 'application/merge-patch+json' });

  await nfs.controller.start();
  const claim = await waitForObject(env.kube, paths.pvc(app.claimsNamespace, 'crash'), (c) => capacityOf(c) === '2Gi');
  expect(resizeConditions(claim)).toEqual([]);
  expect(claim.status.allocatedResourceStatuses).toBeUndefined();
  expect((await app.volumeOf('crash')).spec.capacity).toEqual({ storage: '2Gi' });
  // The Resizing event belonged to the run that crashed: the new one only reports the success.
  await eventually('VolumeResizeSuccessful', async () => resizeReasons(await app.ourEvents('crash')).length > 0);
  expect(resizeReasons(await app.ourEvents('crash'))).toEqual(['Normal VolumeResizeSuccessful']);
});

import type { CoreV1Event } from '@kubernetes/client-node';
import { errorMessage, isConflict, isGone, isNotFound, statusCode } from '../../../src/runtime/core/errors';
import { EventRecorder } from '../../../src/runtime/core/events';
import { JsonLogger } from '../../../src/runtime/ops/log';
import type { EventPort, ObjectRef } from '../../../src/runtime/ports/events';

const pvc: ObjectRef = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', name: 'data', namespace: 'team-a', uid: 'u1', resourceVersion: '5' };
const pv: ObjectRef = { apiVersion: 'v1', kind: 'PersistentVolume', name: 'pvc-u1', uid: 'u2' };

function fakePort(options: { latencyMs?: number; failCreate?: boolean; patchMissing?: boolean } = {}) {
  const created: Array<{ namespace: string; event: CoreV1Event }> = [];
  const patched: Array<{ namespace: string; name: string; patch: { count: number } }> = [];
  let active = 0;
  let peak = 0;
  const port: EventPort = {
    create: async (namespace, event) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, options.latencyMs ?? 0));
      active--;
      if (options.failCreate) throw Object.assign(new Error('forbidden'), { code: 403 });
      created.push({ namespace, event });
    },
    patch: async (namespace, name, patch) => {
      if (options.patchMissing) throw Object.assign(new Error('not found'), { code: 404 });
      patched.push({ namespace, name, patch });
    },
  };
  return { port, created, patched, peak: () => peak };
}

const options = { component: 'example.com/nfs', instance: 'nfs-0' };
const quiet = new JsonLogger(() => undefined);

test('creates an Event on the object with source and reporting fields', async () => {
  const { port, created } = fakePort();
  const recorder = new EventRecorder(port, options, quiet);
  recorder.emit(pvc, 'Warning', 'ProvisioningFailed', 'no space');
  await recorder.flush();
  expect(created).toHaveLength(1);
  const { namespace, event } = created[0];
  expect(namespace).toBe('team-a');
  expect(event).toMatchObject({
    metadata: { namespace: 'team-a', name: expect.stringMatching(/^data\.[0-9a-f]{16}$/) },
    involvedObject: { kind: 'PersistentVolumeClaim', name: 'data', namespace: 'team-a', uid: 'u1', resourceVersion: '5', apiVersion: 'v1' },
    type: 'Warning',
    reason: 'ProvisioningFailed',
    message: 'no space',
    count: 1,
    source: { component: 'example.com/nfs', host: 'nfs-0' },
    reportingComponent: 'example.com/nfs',
    reportingInstance: 'nfs-0',
  });
});

test('events of cluster-scoped objects go to the default namespace', async () => {
  const { port, created } = fakePort();
  const recorder = new EventRecorder(port, options, quiet);
  recorder.emit(pv, 'Normal', 'DirectoryDeleted', 'deleted');
  await recorder.flush();
  expect(created[0].namespace).toBe('default');
  expect(created[0].event.involvedObject.namespace).toBeUndefined();
});

test('a repeated event bumps the count of the existing one', async () => {
  const { port, created, patched } = fakePort();
  const recorder = new EventRecorder(port, options, quiet);
  recorder.emit(pvc, 'Warning', 'ProvisioningFailed', 'same');
  await recorder.flush();
  recorder.emit(pvc, 'Warning', 'ProvisioningFailed', 'same');
  recorder.emit(pvc, 'Warning', 'ProvisioningFailed', 'same');
  await recorder.flush();
  expect(created).toHaveLength(1);
  expect(patched.map((p) => p.patch.count)).toEqual([2, 3]);
  expect(patched[0].name).toBe(created[0].event.metadata!.name);
  recorder.emit(pvc, 'Warning', 'ProvisioningFailed', 'different');
  await recorder.flush();
  expect(created).toHaveLength(2);
});

test('an expired event (404 on patch) is created again', async () => {
  const first = fakePort();
  const recorder = new EventRecorder({ create: first.port.create, patch: fakePort({ patchMissing: true }).port.patch }, options, quiet);
  recorder.emit(pvc, 'Normal', 'Provisioning', 'x');
  await recorder.flush();
  recorder.emit(pvc, 'Normal', 'Provisioning', 'x');
  await recorder.flush();
  expect(first.created).toHaveLength(2);
});

test('sends in the background with bounded concurrency and drops beyond the limit', async () => {
  const { port, created, peak } = fakePort({ latencyMs: 5 });
  const recorder = new EventRecorder(port, { ...options, concurrency: 4, maxPending: 50 }, quiet);
  for (let i = 0; i < 60; i++) recorder.emit(pvc, 'Normal', 'Provisioning', `m${i}`);
  await recorder.flush();
  expect(peak()).toBe(4);
  expect(created.length + recorder.droppedCount).toBe(60);
  expect(recorder.droppedCount).toBe(6);
});

test('failures are counted, logged and never thrown; long messages are cut', async () => {
  const errors: unknown[] = [];
  const lines: string[] = [];
  const failing = fakePort({ failCreate: true }).port;
  const recorder = new EventRecorder(failing, { ...options, onError: (e) => errors.push(e) }, new JsonLogger((l) => lines.push(l)));
  recorder.emit(pvc, 'Normal', 'Provisioning', 'x'.repeat(5000));
  await recorder.flush();
  expect(errors).toHaveLength(1);
  expect(JSON.parse(lines[0])).toMatchObject({ level: 'warn', msg: 'could not record an event', reason: 'Provisioning', error: 'forbidden' });

  const { port, created } = fakePort();
  const ok = new EventRecorder(port, options, quiet);
  ok.emit(pvc, 'Normal', 'Provisioning', 'x'.repeat(5000));
  await ok.flush();
  expect(created[0].event.message).toHaveLength(1024);
});

describe('API error helpers', () => {
  test('read the status from every error shape client-node produces', () => {
    expect(statusCode({ code: 409 })).toBe(409);
    expect(statusCode({ statusCode: 410 })).toBe(410);
    expect(statusCode({ body: '{"kind":"Status","code":404,"message":"pv \\"x\\" not found"}' })).toBe(404);
    expect(statusCode({ body: { code: 422 } })).toBe(422);
    expect(statusCode(new Error('plain'))).toBeUndefined();
    expect(statusCode(undefined)).toBeUndefined();
    expect(isConflict({ code: 409 })).toBe(true);
    expect(isNotFound({ code: 404 })).toBe(true);
    expect(isGone({ statusCode: 410 })).toBe(true);
  });

  test('prefer the API server message', () => {
    expect(errorMessage({ body: '{"message":"persistentvolumes is forbidden"}', message: 'HTTP 403' })).toBe('persistentvolumes is forbidden');
    expect(errorMessage(new Error('socket hang up'))).toBe('socket hang up');
    expect(errorMessage('text')).toBe('text');
  });
});

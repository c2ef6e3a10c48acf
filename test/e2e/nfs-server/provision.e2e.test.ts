/**
 * The in-cluster server as a provisioner on the real control plane: the bundled `nfs-server`
 * command runs as its pod would (private network and mount namespaces, ganesha, its bus,
 * loop images), with leader election, against the harness's API server. The namespace
 * reaches the API server through a relay over a unix socket (loopback on both sides: no
 * other address is used), and the Service's cluster IP, made by the API server, is an
 * address inside it, so the NFS client mounts exactly what the PV names.
 *
 * Proof: a 300Mi claim is Bound to its own export; NFS writes stop with NOSPC within the
 * filesystem's overhead of the size, and the claim's used-bytes annotation (statvfs) says so; an edit of the claim grows it online (the same session
 * writes past the old limit) and PV and claim say so; a grow the server cannot make leaves the
 * claim a ControllerResizeError condition saying why, and lowering the request recovers; deleting the claim removes export,
 * mount, loop device and image (onDelete DELETE).
 */
import * as fs from 'fs';
import * as path from 'path';
import { ServerEnv, untilOk } from './server-env';
import { K8S, PV_ANNOTATIONS, PVC_ANNOTATIONS } from '../../../src/contract/keys';
import { NfsSession } from '../../runtime/nfs-server/server-lab';
import { eventually, paths, waitForClaimBound, waitForGone, waitForObject } from '../support';

const MIB = 1024 * 1024;

const env = new ServerEnv({ name: 'nfs-server-e2e' });
const { kube, lab } = env;
const NAMESPACE = env.namespace;
let deleteClass: string;

beforeAll(async () => {
  await env.setUp();
  deleteClass = await env.addClass('delete', { onDelete: 'DELETE' });
  await env.start();
}, 300_000);

afterAll(() => env.tearDown(), 120_000);

describe('a claim of 300Mi through its life', () => {
  let pvName: string;
  let session: NfsSession;
  let written = 0;

  test('is Bound to its own export at the Service\'s cluster IP; NFS writes stop with NOSPC at its size', async () => {
    await kube.create(paths.pvc(NAMESPACE), {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data' },
      spec: { storageClassName: deleteClass, accessModes: ['ReadWriteMany'], resources: { requests: { storage: '300Mi' } } },
    });
    const claim = await waitForClaimBound(kube, NAMESPACE, 'data');
    pvName = claim.spec.volumeName;
    expect(pvName).toBe(`pvc-${claim.metadata.uid}`);
    const pv = (await kube.get(paths.pv(pvName)))!;
    expect(pv.spec.nfs).toEqual({ server: env.clusterIP, path: `/${pvName}` });
    expect(pv.spec.capacity).toEqual({ storage: '300Mi' });
    expect(pv.metadata.annotations).toMatchObject({ [K8S.provisionedBy]: env.provisioner, [PV_ANNOTATIONS.onDelete]: 'DELETE' });

    session = await lab.session(pv.spec.nfs.path, pv.spec.nfs.server);
    const empty = (await untilOk(session, 'statvfs')).answer;
    // `df` in a pod shows at least the claim's size.
    expect(empty.blocks * empty.frsize).toBeGreaterThanOrEqual(300 * MIB);
    // All but the last 16 MiB of the free space is filled inside the server (libnfs writes 3.5 KiB per call).
    const mountpoint = path.join(lab.dataDir, 'mounts', pvName);
    env.inMount('fallocate', ['-l', String(empty.bavail * empty.frsize - 16 * MIB), path.join(mountpoint, 'filler')]);
    const filled = await session.send('statvfs');
    const available = filled.bavail * filled.frsize;
    expect((await untilOk(session, 'create 0 /data.bin')).answer).toMatchObject({ ok: true });
    const attempt = await session.send(`write 0 0 ${64 * MIB}`);
    expect(attempt).toMatchObject({ ok: false, errno: -28 });
    written = attempt.written;
    // Within the filesystem's overhead (its metadata) of where its free space ended.
    expect(Math.abs(available - written)).toBeLessThan(4 * MIB);
    // Usage is statvfs of the volume: the claim is annotated with the full filesystem's used bytes.
    const measured = await waitForObject(kube, paths.pvc(NAMESPACE, 'data'),
      (c) => Number(c.metadata.annotations?.[PVC_ANNOTATIONS.usedBytes] ?? 0) >= empty.bavail * empty.frsize - 4 * MIB);
    expect(Number(measured.metadata.annotations[PVC_ANNOTATIONS.usedBytes])).toBeLessThanOrEqual(empty.blocks * empty.frsize);
    process.stdout.write(`[e2e] 300Mi claim: filesystem ${(empty.blocks * empty.frsize / MIB).toFixed(1)} MiB, free when empty ${(empty.bavail * empty.frsize / MIB).toFixed(1)} MiB; ` +
      `NOSPC ${((written - available) / MIB).toFixed(3)} MiB past the free space statvfs reported\n`);
  }, 300_000);

  test('editing the claim to 600Mi grows it online: the same session writes past the old limit; PV and claim say 600Mi', async () => {
    const started = Date.now();
    await kube.patch(paths.pvc(NAMESPACE, 'data'), { spec: { resources: { requests: { storage: '600Mi' } } } });
    const claim = await waitForObject(kube, paths.pvc(NAMESPACE, 'data'), (c) => c.status?.capacity?.storage === '600Mi');
    process.stdout.write(`[e2e] edit 300Mi -> 600Mi: claim status.capacity 600Mi after ${((Date.now() - started) / 1000).toFixed(2)} s\n`);
    expect(claim.status.allocatedResourceStatuses).toBeUndefined();
    expect((await kube.get(paths.pv(pvName)))!.spec.capacity).toEqual({ storage: '600Mi' });
    const grown = await session.send('statvfs');
    expect(grown.blocks * grown.frsize).toBeGreaterThanOrEqual(600 * MIB);
    const more = await session.send(`write 0 ${written} ${32 * MIB}`);
    expect(more).toMatchObject({ ok: true, written: 32 * MIB });
  }, 300_000);

  test('a grow the server cannot make (16Pi) leaves PV and claim at 600Mi, the claim with ControllerResizeError saying why; lowering to 700Mi grows it and the condition goes', async () => {
    const hasError = (c: any) => (c.status?.conditions ?? []).some((x: any) => x.type === 'ControllerResizeError');
    await kube.patch(paths.pvc(NAMESPACE, 'data'), { spec: { resources: { requests: { storage: '16Pi' } } } });
    const failed = await waitForObject(kube, paths.pvc(NAMESPACE, 'data'), hasError);
    const error = failed.status.conditions.find((x: any) => x.type === 'ControllerResizeError');
    expect(error.status).toBe('True');
    expect(error.lastTransitionTime).toEqual(expect.any(String));
    expect(error.message).toBe(`resize volume "${pvName}" failed: cannot grow it on the server: `
      + '16Pi is more than a volume of this server can hold (at most 4Pi): lower spec.resources.requests.storage to 4Pi or less');
    expect(failed.status.conditions.map((x: any) => x.type)).toEqual(['Resizing', 'ControllerResizeError']);
    expect(failed.status.capacity).toEqual({ storage: '600Mi' });
    expect(failed.status.allocatedResources).toEqual({ storage: '16Pi' });
    expect(failed.status.allocatedResourceStatuses).toEqual({ storage: 'ControllerResizeInProgress' });
    expect((await kube.get(paths.pv(pvName)))!.spec.capacity).toEqual({ storage: '600Mi' });
    const warning = await eventually('a VolumeResizeFailed Warning on the claim', async () =>
      (await kube.eventsFor(NAMESPACE, 'data', 'PersistentVolumeClaim')).find((e) => e.reason === 'VolumeResizeFailed'));
    expect(warning.type).toBe('Warning');
    expect(warning.message).toBe(error.message);

    await kube.patch(paths.pvc(NAMESPACE, 'data'), { spec: { resources: { requests: { storage: '700Mi' } } } });
    const grown = await waitForObject(kube, paths.pvc(NAMESPACE, 'data'), (c) => c.status?.capacity?.storage === '700Mi');
    expect(grown.status.conditions ?? []).toEqual([]);
    expect(grown.status.allocatedResourceStatuses).toBeUndefined();
    expect(grown.status.allocatedResources).toEqual({ storage: '700Mi' });
    expect((await kube.get(paths.pv(pvName)))!.spec.capacity).toEqual({ storage: '700Mi' });
    const statvfs = await session.send('statvfs');
    expect(statvfs.blocks * statvfs.frsize).toBeGreaterThanOrEqual(700 * MIB);
  }, 300_000);

  test('deleting the claim removes export, mount, loop device and image (onDelete DELETE), then the PV', async () => {
    session.close();
    const image = path.join(lab.dataDir, 'volumes', pvName, 'image');
    await kube.delete(paths.pvc(NAMESPACE, 'data'));
    await waitForGone(kube, paths.pv(pvName));
    expect(fs.existsSync(path.join(lab.dataDir, 'volumes', pvName))).toBe(false);
    expect(fs.existsSync(path.join(lab.dataDir, 'exports.d', `${pvName}.conf`))).toBe(false);
    expect(fs.existsSync(path.join(lab.dataDir, 'mounts', pvName))).toBe(false);
    expect(fs.readdirSync(path.join(lab.dataDir, 'archived'))).toEqual([]);
    const state = await env.state();
    expect(state.mounts).not.toContain(pvName);
    expect(state.ganeshaExports).toEqual([]);
    expect(await lab.loopDevicesOf(image)).toBe('');
  }, 300_000);
});

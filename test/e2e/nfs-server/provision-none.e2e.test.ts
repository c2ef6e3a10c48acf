/**
 * The in-cluster server with --quota=none on the real control plane (server-env.ts:
 * the bundled command as its pod runs it), limited to the capabilities the construct gives
 * a NONE pod. Proof: a claim is Bound to a directory of its own, exported on its own; what
 * a client writes through NFS is in it; the claim's used-bytes annotation comes from the
 * walk (statvfs would report the backing disk); an edit of the claim records the new size
 * on the volume, the PV and the claim; deleting the claim removes the directory and export.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ServerEnv, untilOk } from './server-env';
import { NfsQuota } from '../../../src';
import { NFS_SERVER_FLAGS } from '../../../src/contract/controller-config';
import { PVC_ANNOTATIONS } from '../../../src/contract/keys';
import { serverCapabilities } from '../../runtime/nfs-server/pod-capabilities';
import { paths, waitForClaimBound, waitForGone, waitForObject } from '../support';

const MIB = 1024 * 1024;

const server = new ServerEnv({ name: 'nfs-server-none-e2e' });
const { kube, lab } = server;
const NAMESPACE = server.namespace;
let noneClass: string;

beforeAll(async () => {
  await server.setUp();
  noneClass = await server.addClass('delete', { onDelete: 'DELETE' });
  await server.start({ flags: [`--${NFS_SERVER_FLAGS.quota}=none`], capabilities: serverCapabilities(NfsQuota.NONE) });
}, 300_000);
afterAll(() => server.tearDown(), 120_000);

describe('a claim of 50Mi through its life', () => {
  let pvName: string;
  const written = 300_000;
  const record = () => JSON.parse(fs.readFileSync(path.join(lab.dataDir, 'volumes', pvName, 'volume.json'), 'utf8'));

  test('is Bound to a directory of its own; NFS writes land in it; the used-bytes annotation is the walked size', async () => {
    const started = Date.now();
    await kube.create(paths.pvc(NAMESPACE), {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'data' },
      spec: { storageClassName: noneClass, accessModes: ['ReadWriteMany'], resources: { requests: { storage: '50Mi' } } },
    });
    const claim = await waitForClaimBound(kube, NAMESPACE, 'data');
    const boundMs = Date.now() - started;
    pvName = claim.spec.volumeName;
    const pv = (await kube.get(paths.pv(pvName)))!;
    expect(pv.spec.nfs).toEqual({ server: server.clusterIP, path: `/${pvName}` });
    expect(pv.spec.capacity).toEqual({ storage: '50Mi' });
    // The claim's size exactly: no filesystem of its own, nothing added.
    expect(record()).toMatchObject({ pv: pvName, sizeBytes: 50 * MIB });

    const session = await lab.session(pv.spec.nfs.path, pv.spec.nfs.server);
    expect((await untilOk(session, 'create 0 /data.bin')).answer).toMatchObject({ ok: true });
    expect(await session.send(`write 0 0 ${written}`)).toMatchObject({ ok: true, written });
    const file = path.join(lab.dataDir, 'volumes', pvName, 'data', 'data.bin');
    expect(fs.statSync(file).size).toBe(written);
    // Through NFS the volume shows the backing disk: the size is recorded, not enforced.
    const seen = await session.send('statvfs');
    expect(seen.blocks * seen.frsize).toBeGreaterThan(50 * MIB);
    session.close();

    const onDisk = fs.statSync(file).blocks * 512 + fs.statSync(path.dirname(file)).blocks * 512;
    const measured = await waitForObject(kube, paths.pvc(NAMESPACE, 'data'),
      (c) => Number(c.metadata.annotations?.[PVC_ANNOTATIONS.usedBytes] ?? -1) === onDisk);
    expect(Number(measured.metadata.annotations[PVC_ANNOTATIONS.usedBytes])).toBe(onDisk);
    process.stdout.write(`[e2e] none: 50Mi claim Bound after ${(boundMs / 1000).toFixed(2)} s; used-bytes ${onDisk} for ${written} bytes written\n`);
  }, 300_000);

  test('editing the claim to 80Mi records the new size on the volume, the PV and the claim', async () => {
    const started = Date.now();
    await kube.patch(paths.pvc(NAMESPACE, 'data'), { spec: { resources: { requests: { storage: '80Mi' } } } });
    await waitForObject(kube, paths.pvc(NAMESPACE, 'data'), (c) => c.status?.capacity?.storage === '80Mi');
    process.stdout.write(`[e2e] none: edit 50Mi -> 80Mi: claim status.capacity 80Mi after ${((Date.now() - started) / 1000).toFixed(2)} s\n`);
    expect((await kube.get(paths.pv(pvName)))!.spec.capacity).toEqual({ storage: '80Mi' });
    expect(record().sizeBytes).toBe(80 * MIB);
  }, 300_000);

  test('deleting the claim removes the directory and the export (onDelete DELETE), then the PV', async () => {
    await kube.delete(paths.pvc(NAMESPACE, 'data'));
    await waitForGone(kube, paths.pv(pvName));
    expect(fs.existsSync(path.join(lab.dataDir, 'volumes', pvName))).toBe(false);
    expect(fs.existsSync(path.join(lab.dataDir, 'exports.d', `${pvName}.conf`))).toBe(false);
    expect(fs.readdirSync(path.join(lab.dataDir, 'archived'))).toEqual([]);
    await expect(lab.session(`/${pvName}`, server.clusterIP)).rejects.toThrow(/mounting/);
  }, 300_000);
});

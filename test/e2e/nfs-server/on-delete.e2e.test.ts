/**
 * onDelete RETAIN and ARCHIVE of the in-cluster server, end to end on the real control
 * plane (DELETE is in provision.e2e.test.ts). As docs/server.md says, and as in subdir mode
 * (docs/controller.md, *What each onDelete does*), deleting a claim of a class with
 * reclaim policy Delete stops serving its volume and deletes its PV whatever the onDelete;
 * the onDelete recorded with the volume decides only what happens to the data.
 *
 * Proof, for each: the export is gone from the running ganesha and from exports.d, the
 * filesystem is unmounted, its loop device freed and the PV deleted; ARCHIVE leaves the image
 * as `archived/<pv>-<time>.img`, RETAIN the volume's folder (image and record) as
 * `archived/<pv>-retained-<time>/`; the kept image holds what a client wrote, byte for byte;
 * a restart neither serves nor touches what was kept.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { ServerEnv, untilOk } from './server-env';
import { PV_ANNOTATIONS } from '../../../src/contract/keys';
import { CLUSTER_EVENT_NAMESPACE } from '../../../src/runtime/core/events';
import type { VolumeRecord } from '../../../src/runtime/nfs-server/volume-record';
import { eventually, paths, waitForClaimBound, waitForGone } from '../support';

/** Bytes written through NFS: more than one 3.5 KiB chunk of the session's writer, not a multiple of it. */
const SIZE = 64 * 1024 + 3;

const env = new ServerEnv({ name: 'nfs-server-on-delete' });
const { kube, lab } = env;
const classes: Record<string, string> = {};

beforeAll(async () => {
  await env.setUp();
  for (const onDelete of ['RETAIN', 'ARCHIVE']) classes[onDelete] = await env.addClass(onDelete.toLowerCase(), { onDelete });
  await env.start();
}, 300_000);

afterAll(() => env.tearDown(), 120_000);

/** The pattern the session writes: byte = offset mod 256. */
function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = i % 256;
  return b;
}

/** `file` inside the XFS image `image`, mounted read-only in a mount namespace of its own (gone with it, loop device and all). */
function readFromImage(image: string, file: string): Buffer {
  const dir = fs.mkdtempSync(path.join(lab.root, 'kept-'));
  try {
    return execFileSync('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount -t xfs -o ro,loop "$1" "$2" && cat "$2/$3"', 'sh', image, dir, file]);
  } finally {
    fs.rmdirSync(dir);
  }
}

/** Makes a claim of `onDelete`'s class, writes the pattern file through NFS; returns its PV name and export id. */
async function boundWithData(name: string, onDelete: string): Promise<{ pv: string; exportId: number }> {
  await kube.create(paths.pvc(env.namespace), {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    spec: { storageClassName: classes[onDelete], accessModes: ['ReadWriteMany'], resources: { requests: { storage: '300Mi' } } },
  });
  const pv = (await waitForClaimBound(kube, env.namespace, name)).spec.volumeName;
  expect((await kube.get(paths.pv(pv)))!.metadata.annotations[PV_ANNOTATIONS.onDelete]).toBe(onDelete);
  const record: VolumeRecord = JSON.parse(fs.readFileSync(env.layout.record(pv), 'utf8'));
  expect(record.onDelete).toBe(onDelete);
  const session = await lab.session(`/${pv}`, env.clusterIP);
  expect((await untilOk(session, 'create 0 /kept.bin')).answer).toMatchObject({ ok: true });
  expect(await session.send(`write 0 0 ${SIZE}`)).toMatchObject({ ok: true, written: SIZE });
  session.close();
  const state = await env.state();
  expect(state.ganeshaExports).toContain(record.exportId);
  expect(state.mounts).toContain(pv);
  return { pv, exportId: record.exportId };
}

/** Deletes the claim; once its PV is gone, checks that nothing of the volume is served, mounted or attached. */
async function deleteAndCheckUnserved(name: string, pv: string, exportId: number): Promise<void> {
  const image = env.layout.image(pv);
  await kube.delete(paths.pvc(env.namespace, name));
  await waitForGone(kube, paths.pv(pv));
  const state = await env.state();
  expect(state.ganeshaExports).not.toContain(exportId);
  expect(state.exportFiles).not.toContain(pv);
  expect(state.mounts).not.toContain(pv);
  expect(state.images).not.toContain(pv);
  expect(state.notes).toEqual([]);
  expect(fs.existsSync(env.layout.volumeDir(pv))).toBe(false);
  expect(fs.existsSync(env.layout.mountpoint(pv))).toBe(false);
  expect(await lab.loopDevicesOf(image)).toBe('');
  expect(state.loopDevices.filter((l) => l.includes(pv))).toEqual([]);
  // A client can no longer mount it.
  await expect(lab.session(`/${pv}`, env.clusterIP)).rejects.toThrow(/mounting/);
}

async function removedEvent(pv: string): Promise<string> {
  const event = await eventually(`the VolumeRemoved event of ${pv}`, async () =>
    (await kube.eventsFor(CLUSTER_EVENT_NAMESPACE, pv, 'PersistentVolume')).find((e) => e.reason === 'VolumeRemoved'));
  return event.message;
}

test('onDelete ARCHIVE: the export, mount and loop device go, the PV is deleted, the image is kept as archived/<pv>-<time>.img with the data', async () => {
  const { pv, exportId } = await boundWithData('archived', 'ARCHIVE');
  await deleteAndCheckUnserved('archived', pv, exportId);
  const kept = (await env.state()).archived.filter((n) => n.startsWith(`${pv}-`));
  expect(kept).toHaveLength(1);
  expect(kept[0]).toMatch(new RegExp(`^${pv}-.+\\.img$`));
  const archive = path.join(env.layout.archivedDir, kept[0]);
  expect(fs.statSync(archive).isFile()).toBe(true);
  expect(readFromImage(archive, 'kept.bin').equals(pattern(SIZE))).toBe(true);
  expect(await removedEvent(pv)).toContain('its data was archived on the server (onDelete ARCHIVE)');
}, 300_000);

test('onDelete RETAIN: the export, mount and loop device go, the PV is deleted, the volume\'s folder (image and record) is kept as archived/<pv>-retained-<time>/ with the data', async () => {
  const { pv, exportId } = await boundWithData('retained', 'RETAIN');
  const record = fs.readFileSync(env.layout.record(pv), 'utf8');
  await deleteAndCheckUnserved('retained', pv, exportId);
  const kept = (await env.state()).archived.filter((n) => n.startsWith(`${pv}-`));
  expect(kept).toHaveLength(1);
  expect(kept[0]).toMatch(new RegExp(`^${pv}-retained-.+$`));
  const folder = path.join(env.layout.archivedDir, kept[0]);
  expect(fs.readdirSync(folder).sort()).toEqual(['image', 'volume.json']);
  expect(fs.readFileSync(path.join(folder, 'volume.json'), 'utf8')).toBe(record);
  expect(readFromImage(path.join(folder, 'image'), 'kept.bin').equals(pattern(SIZE))).toBe(true);
  expect(await removedEvent(pv)).toContain('its data and record were kept on the server (onDelete RETAIN)');
}, 300_000);

test('a restart after kill -9 leaves what ARCHIVE and RETAIN kept where it is, and serves none of it', async () => {
  const kept = (await env.state()).archived;
  expect(kept).toHaveLength(2);
  await env.killAll();
  // Serving is what this is about: the new run need not wait for the killed run's Lease.
  await env.start({ waitWorking: false });
  await env.waitForNfsNull();
  const state = await env.state();
  expect(state).toMatchObject({ archived: kept, images: [], exportFiles: [], mounts: [], loopDevices: [], ganeshaExports: [], notes: [] });
}, 300_000);

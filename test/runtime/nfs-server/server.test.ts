/**
 * The in-cluster server's volumes, for real (root only): XFS images on loop devices, served
 * by nfs-ganesha with its D-Bus bus, in a network namespace that outlives the server (the
 * pod's) and a mount namespace per server run (the container's), written through a real
 * libnfs NFSv4 session. Figures are printed, never asserted against a clock.
 */
import * as fs from 'fs';
import * as path from 'path';
import { NfsSession, ServerLab, ServerRun, untilOk } from './server-lab';
import { MIB } from '../../../src/runtime/nfs-server/sizes';

const lab = new ServerLab();
let server: ServerRun;

beforeAll(async () => {
  lab.start();
  server = (await lab.startServer()).run;
}, 120_000);
afterAll(() => lab.cleanup(), 60_000);

const image = (pv: string) => path.join(lab.dataDir, 'volumes', pv, 'image');
const exportFile = (pv: string) => path.join(lab.dataDir, 'exports.d', `${pv}.conf`);
const now = () => Number(process.hrtime.bigint() / 1_000_000n);

describe('one volume through its life', () => {
  let session: NfsSession;
  let written = 0;

  test('a claim is its own export; writes stop with NOSPC at its size, within the filesystem\'s overhead', async () => {
    const record = await server.request('create', { pv: 'pvc-life', requestBytes: 300 * MIB, onDelete: 'DELETE' });
    expect(record).toMatchObject({ pv: 'pvc-life', sizeBytes: 300 * MIB, exportId: 1, filesystemId: '1.1' });
    session = await lab.session('/pvc-life');
    const before = await session.send('statvfs');
    // All but the last 16 MiB of the free space is filled through the mount (libnfs writes 3.5 KiB per call).
    await server.request('fill', { pv: 'pvc-life', name: 'filler', bytes: before.bavail * before.frsize - 16 * MIB });
    const filled = await session.send('statvfs');
    const available = filled.bavail * filled.frsize;
    // A fresh ganesha may still be in its grace period: a client retries, and so does the test.
    expect((await untilOk(session, 'create 0 /data.bin')).answer).toMatchObject({ ok: true });

    const attempt = await session.send(`write 0 0 ${64 * MIB}`);
    expect(attempt).toMatchObject({ ok: false, errno: -28 });
    written = attempt.written;
    // NOSPC comes where the filesystem said the free space ends, give or take its metadata.
    expect(Math.abs(available - written)).toBeLessThan(4 * MIB);
    const usage = await server.request('usage', { pv: 'pvc-life' });
    expect(usage.usedBytes).toBeGreaterThan(before.blocks * before.frsize - 4 * MIB - before.bavail * before.frsize + written);
    expect(usage.capacityBytes).toBeLessThanOrEqual(300 * MIB);
    process.stdout.write(`NOSPC: image ${300} MiB, filesystem ${(before.blocks * before.frsize / MIB).toFixed(1)} MiB, free when empty ${(before.bavail * before.frsize / MIB).toFixed(1)} MiB; ` +
      `NOSPC ${((written - available) / MIB).toFixed(3)} MiB past the free space statvfs reported (written ${(written / MIB).toFixed(2)} of ${(available / MIB).toFixed(2)} MiB through NFS)\n`);
  }, 120_000);

  test('it grows online: the same session and open file write on past the old limit', async () => {
    const started = now();
    const record = await server.request('grow', { pv: 'pvc-life', requestBytes: 600 * MIB });
    const growMs = now() - started;
    expect(record.sizeBytes).toBe(600 * MIB);
    expect(fs.statSync(image('pvc-life')).size).toBe(600 * MIB);
    const after = await session.send('statvfs');
    expect(after.blocks * after.frsize).toBeGreaterThan(500 * MIB);
    const more = await session.send(`write 0 ${written} ${32 * MIB}`);
    expect(more).toMatchObject({ ok: true, written: 32 * MIB });
    written += 32 * MIB;
    process.stdout.write(`grow 300 -> 600 MiB online (truncate, losetup -c, xfs_growfs, record): ${growMs} ms\n`);
  }, 120_000);

  test('kill -9 of ganesha and the server: the next start serves it again with its data, filesystem id and file handles', async () => {
    const handleBefore = await session.send('fstat 0');
    const fsidBefore = (await session.send('statvfs')).fsid;
    const exportBefore = fs.readFileSync(exportFile('pvc-life'), 'utf8');

    const killed = now();
    await server.killAll();
    // The container's mount namespace is gone, and with it the mount: autoclear freed the loop device.
    expect(await lab.loopDevicesOf(image('pvc-life'))).toBe('');
    const restarted = await lab.startServer();
    server = restarted.run;
    const readyMs = now() - killed;
    expect(restarted.ready.steps).toEqual([expect.objectContaining({ kind: 'serve', pv: 'pvc-life' })]);

    // The session from before the kill uses its file handle again: same file, no ESTALE.
    const reconnected = await untilOk(session, 'reconnect 127.0.0.1 /pvc-life');
    expect(reconnected.answer.ok).toBe(true);
    const handle = await untilOk(session, 'fstat 0');
    const handleMs = now() - killed;
    expect(handle.answer).toMatchObject({ ok: true, ino: handleBefore.ino, size: written });
    expect((await session.send('statvfs')).fsid).toBe(fsidBefore);
    expect(fs.readFileSync(exportFile('pvc-life'), 'utf8')).toBe(exportBefore);

    // New opens wait for the end of the NFSv4 grace period (reclaims only until then).
    const reader = await lab.session('/pvc-life');
    const opened = await untilOk(reader, 'open 1 /data.bin');
    const openMs = now() - killed;
    expect(opened.answer.ok).toBe(true);
    expect(await reader.send(`read 1 0 ${written}`)).toMatchObject({ ok: true, read: written, differ: 0 });
    process.stdout.write(`restart after kill -9: serving (NFS NULL + D-Bus) ${readyMs} ms, old file handle answered ${handleMs} ms (${handle.tries} tries), ` +
      `new open ${openMs} ms (${opened.tries} tries; grace 10 s in this test)\n`);
  }, 180_000);
});

describe('a kill -9 in the middle of a change is finished or undone at the next start', () => {
  async function crashAndRestart(op: string, args: Record<string, unknown>): Promise<any[]> {
    await server.requestCrash(op, args);
    await server.killAll();
    const restarted = await lab.startServer();
    server = restarted.run;
    return restarted.ready.steps;
  }

  test('a create killed after its mount is undone: no image, mount, loop device or export left', async () => {
    const steps = await crashAndRestart('create', { pv: 'pvc-crash', requestBytes: 300 * MIB, crashAfter: 'mount' });
    expect(steps).toContainEqual({ kind: 'undo-create', pv: 'pvc-crash' });
    expect(fs.existsSync(path.join(lab.dataDir, 'volumes', 'pvc-crash'))).toBe(false);
    expect(fs.existsSync(path.join(lab.dataDir, 'mounts', 'pvc-crash'))).toBe(false);
    expect(fs.existsSync(exportFile('pvc-crash'))).toBe(false);
    expect(fs.readdirSync(path.join(lab.dataDir, 'journal'))).toEqual([]);
    expect(await server.request('get', { pv: 'pvc-crash' })).toBeUndefined();
  }, 180_000);

  test('a grow killed after the loop device saw the new size is finished', async () => {
    await server.request('create', { pv: 'pvc-crash', requestBytes: 300 * MIB });
    const steps = await crashAndRestart('grow', { pv: 'pvc-crash', requestBytes: 400 * MIB, crashAfter: 'losetup' });
    expect(steps).toContainEqual(expect.objectContaining({ kind: 'finish-grow', pv: 'pvc-crash', sizeBytes: 400 * MIB }));
    expect((await server.request('get', { pv: 'pvc-crash' })).sizeBytes).toBe(400 * MIB);
    expect((await server.request('usage', { pv: 'pvc-crash' })).capacityBytes).toBeGreaterThan(300 * MIB);
  }, 180_000);

  test('a remove killed after the unmount is finished: the image goes as its onDelete says', async () => {
    const steps = await crashAndRestart('remove', { pv: 'pvc-crash', crashAfter: 'umount' });
    expect(steps).toContainEqual(expect.objectContaining({ kind: 'finish-remove', pv: 'pvc-crash' }));
    expect(fs.existsSync(path.join(lab.dataDir, 'volumes', 'pvc-crash'))).toBe(false);
    expect(fs.existsSync(exportFile('pvc-crash'))).toBe(false);
    expect(fs.readdirSync(path.join(lab.dataDir, 'archived')).filter((n) => n.startsWith('pvc-crash'))).toEqual([]);
  }, 180_000);
});

test('a volume whose image is gone is not served in its stead from the bare mountpoint', async () => {
  await server.request('create', { pv: 'pvc-lost', requestBytes: 300 * MIB });
  await server.killAll();
  await lab.loopDevicesOf(image('pvc-lost'));
  fs.rmSync(image('pvc-lost'));
  const restarted = await lab.startServer();
  server = restarted.run;
  expect(restarted.ready.steps).toContainEqual(expect.objectContaining({ kind: 'report-missing-data', pv: 'pvc-lost' }));
  expect(fs.existsSync(exportFile('pvc-lost'))).toBe(false);
  await expect(lab.session('/pvc-lost')).rejects.toThrow(/mounting/);
}, 180_000);

test('onDelete: DELETE removes the image, ARCHIVE keeps it under archived/, RETAIN keeps the volume\'s folder there', async () => {
  const createMs: number[] = [];
  for (const [pv, onDelete] of [['pvc-delete', 'DELETE'], ['pvc-archive', 'ARCHIVE'], ['pvc-retain', 'RETAIN']]) {
    const started = now();
    await server.request('create', { pv, requestBytes: 300 * MIB, onDelete });
    createMs.push(now() - started);
    const session = await lab.session(`/${pv}`);
    expect((await untilOk(session, 'create 0 /kept')).answer.ok).toBe(true);
    expect((await session.send('write 0 0 10000')).ok).toBe(true);
    session.close();
    expect(await server.request('remove', { pv })).toBe('removed');
    expect(await lab.loopDevicesOf(image(pv))).toBe('');
    expect(fs.existsSync(exportFile(pv))).toBe(false);
    // The export is gone from the running server too.
    await expect(lab.session(`/${pv}`)).rejects.toThrow(/mounting/);
  }
  process.stdout.write(`create of a 300 MiB volume (image, mkfs.xfs, mount, export files, AddExport): ${createMs.join(', ')} ms, median ${[...createMs].sort((a, b) => a - b)[1]} ms\n`);
  const archived = fs.readdirSync(path.join(lab.dataDir, 'archived'));
  expect(archived.filter((n) => n.startsWith('pvc-delete'))).toEqual([]);
  expect(archived.filter((n) => /^pvc-archive-.*\.img$/.test(n))).toHaveLength(1);
  const retained = archived.filter((n) => n.startsWith('pvc-retain-retained-'));
  expect(retained).toHaveLength(1);
  expect(fs.readdirSync(path.join(lab.dataDir, 'archived', retained[0])).sort()).toEqual(['image', 'volume.json']);
}, 180_000);

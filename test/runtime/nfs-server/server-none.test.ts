/**
 * --quota=none for real (root only): plain directories on the backing filesystem, served by
 * nfs-ganesha with its D-Bus bus, written through a real libnfs NFSv4 session, in the lab's
 * pod-like namespaces. The server, the bus and ganesha run with exactly the capabilities the
 * synthesized StatefulSet gives a NONE pod (setpriv: bounding set, no_new_privs), read from
 * the manifest. Figures are printed, never asserted against a clock.
 */
import * as fs from 'fs';
import * as path from 'path';
import { serverCapabilities } from './pod-capabilities';
import { NfsSession, ServerLab, ServerRun, untilOk } from './server-lab';
import { NfsQuota } from '../../../src';

const MIB = 1024 * 1024;
const lab = new ServerLab();
let server: ServerRun;
let capabilities: string[];

/** CapEff of a process as a set of names (bits of linux/capability.h). */
function effectiveCapabilities(pid: number): string[] {
  const BITS = ['CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE', 'NET_BIND_SERVICE',
    'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN'];
  const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('CapEff:'))!;
  const mask = BigInt(`0x${line.split(/\s+/)[1]}`);
  const names: string[] = [];
  for (let bit = 0n; bit < 64n; bit++) if ((mask / 2n ** bit) % 2n === 1n) names.push(BITS[Number(bit)] ?? `bit${bit}`);
  return names;
}

async function start(): Promise<any> {
  const started = await lab.startServer(['--quota=none'], { capabilities });
  server = started.run;
  return started.ready;
}

beforeAll(async () => {
  capabilities = serverCapabilities(NfsQuota.NONE);
  lab.start();
  await start();
}, 120_000);
afterAll(() => lab.cleanup(), 60_000);

const dataDir = (pv: string) => path.join(lab.dataDir, 'volumes', pv, 'data');
const exportFile = (pv: string) => path.join(lab.dataDir, 'exports.d', `${pv}.conf`);
const now = () => Number(process.hrtime.bigint() / 1_000_000n);

test('ganesha runs with the NONE pod\'s capabilities and nothing more', async () => {
  expect(capabilities).toEqual(['CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'SETGID', 'SETUID']);
  const { ganeshaPid } = await server.request('pids');
  expect(effectiveCapabilities(ganeshaPid).sort()).toEqual([...capabilities].sort());
  expect(effectiveCapabilities(await server.request('pid')).sort()).toEqual([...capabilities].sort());
});

describe('one volume through its life', () => {
  let session: NfsSession;
  const written = 200_000;

  test('a claim is a directory of its own, exported on its own; what is written through NFS is in it; usage is walked', async () => {
    const record = await server.request('create', { pv: 'pvc-life', requestBytes: 100 * MIB, onDelete: 'DELETE' });
    expect(record).toMatchObject({ pv: 'pvc-life', sizeBytes: 100 * MIB, exportId: 1, filesystemId: '1.1' });
    expect(record.projectId).toBeUndefined();
    expect(fs.readFileSync(exportFile('pvc-life'), 'utf8')).toContain(`Path = ${dataDir('pvc-life')};`);
    // Nothing is mounted for it.
    expect(fs.readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain('pvc-life');
    session = await lab.session('/pvc-life');
    expect((await untilOk(session, 'create 0 /data.bin')).answer).toMatchObject({ ok: true });
    expect(await session.send(`write 0 0 ${written}`)).toMatchObject({ ok: true, written });
    expect(fs.statSync(path.join(dataDir('pvc-life'), 'data.bin')).size).toBe(written);

    const usage = await server.request('usage', { pv: 'pvc-life' });
    const du = Number(fs.statSync(dataDir('pvc-life')).blocks * 512) + Number(fs.statSync(path.join(dataDir('pvc-life'), 'data.bin')).blocks * 512);
    expect(usage).toEqual({ capacityBytes: 100 * MIB, usedBytes: du, availableBytes: 100 * MIB - du });
    // Through NFS the volume shows the backing filesystem: its size is recorded, not enforced.
    const seen = await session.send('statvfs');
    expect(seen.blocks * seen.frsize).toBeGreaterThan(100 * MIB);
  }, 120_000);

  test('a grow records the new size and touches nothing else; the session writes on', async () => {
    const exportBefore = fs.readFileSync(exportFile('pvc-life'), 'utf8');
    const started = now();
    const record = await server.request('grow', { pv: 'pvc-life', requestBytes: 250 * MIB });
    const growMs = now() - started;
    expect(record.sizeBytes).toBe(250 * MIB);
    expect(JSON.parse(fs.readFileSync(path.join(lab.dataDir, 'volumes', 'pvc-life', 'volume.json'), 'utf8')).sizeBytes).toBe(250 * MIB);
    expect((await server.request('usage', { pv: 'pvc-life' })).capacityBytes).toBe(250 * MIB);
    expect(fs.readFileSync(exportFile('pvc-life'), 'utf8')).toBe(exportBefore);
    expect(await session.send(`write 0 ${written} 3584`)).toMatchObject({ ok: true });
    expect(await session.send(`write 0 0 ${written}`)).toMatchObject({ ok: true });
    process.stdout.write(`none: grow 100 -> 250 MiB (journal note, record): ${growMs} ms\n`);
  }, 60_000);

  test('volumes on one filesystem are separate exports: each its own filesystem id, neither sees the other', async () => {
    await server.request('create', { pv: 'pvc-other', requestBytes: 10 * MIB });
    const other = await lab.session('/pvc-other');
    expect((await other.send('statvfs')).fsid).not.toBe((await session.send('statvfs')).fsid);
    expect(await other.send('open 1 /data.bin')).toMatchObject({ ok: false });
    expect(await other.send('open 1 ../data/data.bin')).toMatchObject({ ok: false });
    other.close();
    expect(await server.request('remove', { pv: 'pvc-other' })).toBe('removed');
  }, 60_000);

  test('kill -9 of ganesha and the server: the next start serves it again with its data, filesystem id and file handles', async () => {
    const handleBefore = await session.send('fstat 0');
    const fsidBefore = (await session.send('statvfs')).fsid;
    const killed = now();
    await server.killAll();
    const ready = await start();
    const readyMs = now() - killed;
    expect(ready.steps).toEqual([expect.objectContaining({ kind: 'serve', pv: 'pvc-life' })]);

    // The session from before the kill uses its file handle again: same file, no ESTALE.
    expect((await untilOk(session, 'reconnect 127.0.0.1 /pvc-life')).answer.ok).toBe(true);
    const handle = await untilOk(session, 'fstat 0');
    expect(handle.answer).toMatchObject({ ok: true, ino: handleBefore.ino, size: written + 3584 });
    expect((await session.send('statvfs')).fsid).toBe(fsidBefore);

    const reader = await lab.session('/pvc-life');
    const opened = await untilOk(reader, 'open 1 /data.bin');
    expect(opened.answer.ok).toBe(true);
    expect(await reader.send(`read 1 0 ${written}`)).toMatchObject({ ok: true, read: written, differ: 0 });
    reader.close();
    process.stdout.write(`none: restart after kill -9: serving (NFS NULL + D-Bus) ${readyMs} ms, old file handle answered after ${handle.tries} tries\n`);
  }, 180_000);
});

describe('a kill -9 in the middle of a change is finished or undone at the next start', () => {
  async function crashAndRestart(op: string, args: Record<string, unknown>): Promise<any[]> {
    await server.requestCrash(op, args);
    await server.killAll();
    return (await start()).steps;
  }

  test('a create killed right after ganesha took its export is undone: no directory, export file or note left', async () => {
    // The only program a NONE create runs is dbus-send (AddExport): the kill comes after it, before the note is cleared.
    const steps = await crashAndRestart('create', { pv: 'pvc-crash', requestBytes: 10 * MIB, crashAfter: 'dbus-send' });
    expect(steps).toContainEqual({ kind: 'undo-create', pv: 'pvc-crash' });
    expect(fs.existsSync(path.join(lab.dataDir, 'volumes', 'pvc-crash'))).toBe(false);
    expect(fs.existsSync(exportFile('pvc-crash'))).toBe(false);
    expect(fs.readdirSync(path.join(lab.dataDir, 'journal'))).toEqual([]);
    await expect(lab.session('/pvc-crash')).rejects.toThrow(/mounting/);
    // Made again by the retry, it gets a working export.
    await server.request('create', { pv: 'pvc-crash', requestBytes: 10 * MIB, onDelete: 'ARCHIVE' });
    const s = await lab.session('/pvc-crash');
    // New opens wait for the end of the NFSv4 grace period after the restart.
    expect((await untilOk(s, 'create 0 /again')).answer).toMatchObject({ ok: true });
    s.close();
  }, 180_000);

  test('a remove killed after ganesha dropped the export is finished with the recorded onDelete', async () => {
    const steps = await crashAndRestart('remove', { pv: 'pvc-crash', crashAfter: 'dbus-send' });
    expect(steps).toContainEqual(expect.objectContaining({ kind: 'finish-remove', pv: 'pvc-crash' }));
    expect(fs.existsSync(path.join(lab.dataDir, 'volumes', 'pvc-crash'))).toBe(false);
    const archived = fs.readdirSync(path.join(lab.dataDir, 'archived')).filter((n) => n.startsWith('pvc-crash-'));
    expect(archived).toHaveLength(1);
    expect(fs.readdirSync(path.join(lab.dataDir, 'archived', archived[0]))).toEqual(['again']);
  }, 180_000);
});

test('onDelete: DELETE removes the directory, ARCHIVE keeps it under archived/, RETAIN keeps the volume\'s folder there', async () => {
  const createMs: number[] = [];
  for (const [pv, onDelete] of [['pvc-delete', 'DELETE'], ['pvc-archive', 'ARCHIVE'], ['pvc-retain', 'RETAIN']]) {
    const started = now();
    await server.request('create', { pv, requestBytes: 10 * MIB, onDelete });
    createMs.push(now() - started);
    const session = await lab.session(`/${pv}`);
    expect((await untilOk(session, 'create 0 /kept')).answer).toMatchObject({ ok: true });
    expect((await session.send('write 0 0 10000')).ok).toBe(true);
    session.close();
    expect(await server.request('remove', { pv })).toBe('removed');
    expect(fs.existsSync(exportFile(pv))).toBe(false);
    await expect(lab.session(`/${pv}`)).rejects.toThrow(/mounting/);
  }
  const archived = fs.readdirSync(path.join(lab.dataDir, 'archived'));
  expect(archived.filter((n) => n.startsWith('pvc-delete'))).toEqual([]);
  const kept = archived.filter((n) => n.startsWith('pvc-archive-'));
  expect(kept).toHaveLength(1);
  expect(fs.statSync(path.join(lab.dataDir, 'archived', kept[0], 'kept')).size).toBe(10000);
  const retained = archived.filter((n) => n.startsWith('pvc-retain-retained-'));
  expect(retained).toHaveLength(1);
  expect(fs.readdirSync(path.join(lab.dataDir, 'archived', retained[0])).sort()).toEqual(['data', 'volume.json']);
  expect(fs.statSync(path.join(lab.dataDir, 'archived', retained[0], 'data', 'kept')).size).toBe(10000);

  // Provisioning figure: 20 more volumes, each created and served (export file, AddExport).
  for (let i = 0; i < 20; i++) {
    const started = now();
    await server.request('create', { pv: `pvc-n${i}`, requestBytes: 10 * MIB });
    createMs.push(now() - started);
  }
  const sorted = [...createMs].sort((a, b) => a - b);
  process.stdout.write(`none: create of a volume (directory, record, export file, AddExport), ${sorted.length} volumes: median ${sorted[Math.floor(sorted.length / 2)]} ms, min ${sorted[0]} ms, max ${sorted[sorted.length - 1]} ms\n`);
}, 180_000);

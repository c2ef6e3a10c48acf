/**
 * File handles across restarts when loop devices change hands (real ganesha, loop devices,
 * XFS). ganesha names a filesystem in its handles by the filesystem's UUID, which it reads
 * with libblkid from the device the filesystem is mounted from. libblkid keeps a cache file
 * of device -> UUID and trusts an entry without reading the device again for a while, so a
 * restarted ganesha could give a volume the UUID of the volume that had its loop device
 * before: that volume's handles went stale, or its export was refused as a duplicate
 * filesystem and the claim went unserved. The supervisor runs ganesha with no cache file
 * (BLKID_FILE=/dev/null), so every UUID is read from the volume itself; these tests move
 * volumes between devices every way a node can, and check each client's old handle.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { NfsSession, ServerLab, ServerRun, untilOk } from './server-lab';
import { MIB } from '../../../src/runtime/nfs-server/sizes';

const lab = new ServerLab();
let server: ServerRun;
beforeAll(async () => { lab.start(); server = (await lab.startServer()).run; }, 120_000);
afterAll(() => lab.cleanup(), 60_000);

const image = (pv: string) => path.join(lab.dataDir, 'volumes', pv, 'image');
const deviceOf = (pv: string) => execFileSync('losetup', ['-j', image(pv)]).toString().split(':')[0];

interface Held { readonly pv: string; readonly s: NfsSession; readonly st: any }
/** Every volume made here with a client's open file on it: the last test moves them all. */
const everyHeld: Held[] = [];

/** A volume with a client holding an open file of `bytes` bytes on it. */
async function volumeWithHandle(pv: string, bytes: number): Promise<Held> {
  await server.request('create', { pv, requestBytes: 300 * MIB, onDelete: 'DELETE' });
  const s = await lab.session(`/${pv}`);
  expect((await untilOk(s, 'create 0 /f')).answer.ok).toBe(true);
  expect((await s.send(`write 0 0 ${bytes}`)).ok).toBe(true);
  const held = { pv, s, st: await s.send('fstat 0') };
  everyHeld.push(held);
  return held;
}

/** Each client reconnects and its handle from before answers for the same file. */
async function expectHandlesAnswer(held: readonly Held[]): Promise<void> {
  for (const { pv, s, st } of held) {
    const mounted = await untilOk(s, `reconnect 127.0.0.1 /${pv}`, 300);
    if (!mounted.answer.ok) throw new Error(`${pv} is not served after the restart: ${JSON.stringify(mounted.answer)}\n${server.log()}`);
    const h = await untilOk(s, 'fstat 0', 30);
    expect(h.answer).toMatchObject({ ok: true, ino: st.ino, size: st.size });
  }
}

/** kill -9 of the server, then `meanwhile` (the node's other loop device users), then a new start. */
async function restart(meanwhile: () => void = () => undefined): Promise<void> {
  await server.killAll();
  for (const pv of fs.readdirSync(path.join(lab.dataDir, 'volumes'))) await lab.loopDevicesOf(image(pv));
  meanwhile();
  server = (await lab.startServer()).run;
}

/** Attaches a 1 MiB image to `device` (another user of loop devices on the node). */
function squat(device: string): string {
  const file = path.join(lab.root, `squatter-${path.basename(device)}.img`);
  execFileSync('truncate', ['-s', '1M', file]);
  return execFileSync('losetup', ['--show', device, file]).toString().trim();
}

/** Devices taken by restartWithDeviceTaken, released after each test. */
const squatters: string[] = [];
afterEach(() => {
  for (const device of squatters.splice(0)) execFileSync('losetup', ['-d', device]);
});

/** A restart during which another program takes `device`; the device it took. */
async function restartWithDeviceTaken(device: string): Promise<string> {
  let taken = '';
  await restart(() => {
    taken = squat(device);
    squatters.push(taken);
  });
  return taken;
}

test('two volumes that swap loop devices at a restart keep their handles', async () => {
  const held = [await volumeWithHandle('pvc-b', 2000), await volumeWithHandle('pvc-a', 1000)];
  const before = { a: deviceOf('pvc-a'), b: deviceOf('pvc-b') };
  await restart();
  // Attached in name order, lowest free device first: each gets the other's.
  expect({ a: deviceOf('pvc-a'), b: deviceOf('pvc-b') }).toEqual({ a: before.b, b: before.a });
  await expectHandlesAnswer(held);
}, 180_000);

test('a volume that comes back on another loop device answers its handles', async () => {
  const held = await volumeWithHandle('pvc-moved', 3000);
  const before = deviceOf('pvc-moved');
  const taken = await restartWithDeviceTaken(before);
  expect(taken).toBe(before);
  expect(deviceOf('pvc-moved')).not.toBe(before);
  await expectHandlesAnswer([held]);
}, 180_000);

test('a volume made on the loop device a deleted volume just had answers its handles after it moves', async () => {
  await server.request('create', { pv: 'pvc-gone', requestBytes: 300 * MIB, onDelete: 'DELETE' });
  const device = deviceOf('pvc-gone');
  await server.request('remove', { pv: 'pvc-gone' });
  const held = await volumeWithHandle('pvc-next', 4000);
  expect(deviceOf('pvc-next')).toBe(device);
  await restartWithDeviceTaken(device);
  expect(deviceOf('pvc-next')).not.toBe(device);
  await expectHandlesAnswer([held]);
}, 180_000);

test('every volume answers its handles after the devices below them are taken', async () => {
  await volumeWithHandle('pvc-shift', 5000);
  const before = new Map(everyHeld.map(({ pv }) => [pv, deviceOf(pv)]));
  const lowest = [...before.values()].sort((a, b) => Number(a.replace('/dev/loop', '')) - Number(b.replace('/dev/loop', '')))[0];
  await restartWithDeviceTaken(lowest);
  const moved = everyHeld.filter(({ pv }) => deviceOf(pv) !== before.get(pv));
  expect(moved.length).toBeGreaterThan(0);
  await expectHandlesAnswer(everyHeld);
}, 180_000);

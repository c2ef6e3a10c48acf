/**
 * Cleanup on real loop-mounted filesystems and loop block devices (root only; fails, never
 * skips, without loop devices).
 */
import * as fs from 'fs';
import * as path from 'path';
import { wipeAt } from './wipe-at';
import type { LocalClassConfig } from '../../../src/contract/controller-config';
import type { BlockCleanerKind } from '../../../src/contract/values';
import { MAX_SHOWN_CHARS } from '../../../src/runtime/fs/show-path';
import { cleanVolume } from '../../../src/runtime/local/cleanup';
import { devnoOf, readDeviceIdentity } from '../../../src/runtime/local/device';
import { MountTable } from '../../../src/runtime/local/mountinfo';
import { buildLocalPv, readRecord } from '../../../src/runtime/local/pv';
import { scanDirectory } from '../../../src/runtime/local/scan';
import { guardBlockDevice, runBlockCleaner } from '../../../src/runtime/local/wipe-block';
import { contains, readDevice, writeMarker } from '../../util/device-markers';
import { LoopLab, sh } from '../../util/loop-lab';
import { makeByteNamedTree, makeDeepTree, makeImmutable } from '../fs/tenant-trees';

const lab = new LoopLab('local-wipe');
afterAll(() => lab.cleanup());

const node = { name: 'node-a', hostname: 'host-a' };

async function identityOf(p: string) {
  const st = fs.statSync(p, { bigint: true });
  return readDeviceIdentity(devnoOf(st.isBlockDevice() ? st.rdev : st.dev));
}

describe('filesystem wipe', () => {
  const disks = path.join(lab.root, 'disks');
  const outside = path.join(lab.root, 'outside');
  const vol = path.join(disks, 'vol1');
  const other = path.join(disks, 'vol2');

  beforeAll(() => {
    lab.mountFs(vol);
    lab.mountFs(other);
    fs.mkdirSync(outside, { recursive: true });
    fs.writeFileSync(path.join(outside, 'precious'), 'outside data');
    fs.mkdirSync(path.join(outside, 'dir'));
    fs.writeFileSync(path.join(outside, 'dir', 'file'), 'outside dir data');
    fs.writeFileSync(path.join(other, 'neighbour'), 'other volume data');
  });

  test('removes everything inside the volume, unlinks symlinks as links, never crosses a mount', async () => {
    // Tenant content, including hostile links.
    fs.mkdirSync(path.join(vol, 'a/b/c'), { recursive: true });
    fs.writeFileSync(path.join(vol, 'a/b/c/deep'), 'tenant');
    fs.writeFileSync(path.join(vol, 'marker'), 'tenant');
    fs.symlinkSync(path.join(outside, 'precious'), path.join(vol, 'link-to-file'));
    fs.symlinkSync(path.join(outside, 'dir'), path.join(vol, 'link-to-dir'));
    fs.symlinkSync(other, path.join(vol, 'a/link-to-other-volume'));
    fs.symlinkSync(path.join(other, 'neighbour'), path.join(vol, 'link-to-neighbour'));
    fs.symlinkSync('/nonexistent', path.join(vol, 'dangling'));
    sh('mkfifo', [path.join(vol, 'fifo')]);
    // A nested mount of another filesystem, and a bind mount of the same filesystem.
    const nested = path.join(vol, 'nested');
    lab.mountFs(nested);
    fs.writeFileSync(path.join(nested, 'inner'), 'nested data');
    fs.mkdirSync(path.join(vol, 'bind-src'));
    fs.writeFileSync(path.join(vol, 'bind-src', 'kept-by-bind'), 'x');
    const bindTarget = path.join(vol, 'a', 'bound');
    fs.mkdirSync(bindTarget);
    lab.bind(path.join(outside, 'dir'), bindTarget);

    const result = await wipeAt(vol, await MountTable.read());
    expect(result.keptMounts.sort()).toEqual([bindTarget, nested].sort());
    // Only the mounts (and the directories leading to them) remain.
    expect(fs.readdirSync(vol).sort()).toEqual(['a', 'nested']);
    expect(fs.readdirSync(path.join(vol, 'a'))).toEqual(['bound']);
    // Targets untouched.
    expect(fs.readFileSync(path.join(outside, 'precious'), 'utf8')).toBe('outside data');
    expect(fs.readFileSync(path.join(outside, 'dir', 'file'), 'utf8')).toBe('outside dir data');
    expect(fs.readFileSync(path.join(other, 'neighbour'), 'utf8')).toBe('other volume data');
    expect(fs.readFileSync(path.join(nested, 'inner'), 'utf8')).toBe('nested data');
    // The mount point itself stays.
    expect(fs.statSync(vol).isDirectory()).toBe(true);

    lab.umount(bindTarget);
    lab.umount(nested);
    const second = await wipeAt(vol, await MountTable.read());
    expect(second.keptMounts).toEqual([]);
    expect(fs.readdirSync(vol)).toEqual([]);
  });

  test('removes names that are not UTF-8 (a tenant can no longer block the wipe with one)', async () => {
    const made = makeByteNamedTree(vol);
    const result = await wipeAt(vol, await MountTable.read());
    expect(result).toEqual({ removed: made, keptMounts: [] });
    expect(fs.readdirSync(vol)).toEqual([]);
  });

  test('removes a tree deeper than PATH_MAX', async () => {
    const tree = makeDeepTree(vol, 50, 'd'.repeat(100));
    expect(tree.pathBytes).toBeGreaterThan(4096);
    const result = await wipeAt(vol, await MountTable.read());
    expect(result).toEqual({ removed: tree.levels + 1, keptMounts: [] });
    expect(fs.readdirSync(vol)).toEqual([]);
  });

  test('a failure deep in a tree deeper than PATH_MAX names a short path, never /proc/self/fd (it goes into the event)', async () => {
    const stuck = path.join(lab.root, 'stuck');
    lab.mountFs(stuck);
    makeDeepTree(stuck, 50, 'd'.repeat(100), (bottom) => makeImmutable(`${bottom}/leaf`));
    const error: Error = await wipeAt(stuck, await MountTable.read()).then(() => new Error('wiped'), (e: Error) => e);
    // The start names the volume, the end the entry; the middle is cut.
    expect(error.message).toMatch(new RegExp(`^unlink ${stuck}/.*\\.\\.\\..*/leaf: EPERM$`));
    expect(error.message.length).toBeLessThanOrEqual(MAX_SHOWN_CHARS + 'unlink : EPERM'.length);
    expect(error.message).not.toContain('/proc/self/fd');
  });

  describe('cleanVolume (filesystem)', () => {
    const cls: LocalClassConfig = {
      storageClassName: 'local-fs', hostDir: '/mnt/host-disks', mountDir: disks, volumeMode: 'Filesystem', namePattern: '*', reclaimPolicy: 'Delete',
    };
    const mounts = () => MountTable.read();

    async function released(entry: string) {
      const scan = await scanDirectory(disks, await MountTable.read());
      const scanned = scan.entries.find(e => e.name === entry)!;
      const pv = buildLocalPv(cls, node, scanned);
      return { type: 'clean' as const, pv, cls, entry, record: readRecord(pv)! };
    }

    test('wipes a verified volume', async () => {
      fs.writeFileSync(path.join(other, 'marker'), 'tenant');
      expect(fs.readdirSync(other).sort()).toEqual(['lost+found', 'marker', 'neighbour']);
      const result = await cleanVolume(await released('vol2'), { mounts });
      expect(result).toEqual({ ok: true, message: 'emptied /mnt/host-disks/vol2 (3 entries removed)' });
      expect(fs.readdirSync(other)).toEqual([]);
    });

    test('refuses a different filesystem at the entry, an unmounted entry and a missing entry', async () => {
      const dir = path.join(disks, 'vol3');
      lab.mountFs(dir);
      const decision = await released('vol3');
      lab.umount(dir);
      fs.writeFileSync(path.join(dir, 'on-root-fs'), 'underlying directory');
      const unmounted = await cleanVolume(decision, { mounts });
      expect(unmounted).toEqual({ ok: false, message: expect.stringMatching(/\/mnt\/host-disks\/vol3 is no longer a mount point; PV local-\w+ is not wiped/) });
      expect(fs.existsSync(path.join(dir, 'on-root-fs'))).toBe(true);

      lab.mountFs(dir);
      fs.writeFileSync(path.join(dir, 'new-disk-data'), 'x');
      const swapped = await cleanVolume(decision, { mounts });
      expect(swapped).toEqual({ ok: false, message: expect.stringMatching(/holds a different filesystem than PV local-\w+ was published for \(recorded 7:\d+, loop:/) });
      expect(fs.existsSync(path.join(dir, 'new-disk-data'))).toBe(true);

      lab.umount(dir);
      fs.rmSync(dir, { recursive: true });
      const missing = await cleanVolume(decision, { mounts });
      expect(missing).toEqual({ ok: false, message: expect.stringMatching(/\/mnt\/host-disks\/vol3 is gone, so PV (local-\w+) cannot be wiped and is not republished\. If the volume is lost for good, delete the PV \(kubectl delete pv local-\w+\)/) });
    });
  });
});

describe('block guard and cleaners', () => {
  const blocks = path.join(lab.root, 'blocks');
  const MiB = 1024 * 1024;
  const marker = 'TENANT-MARKER-0123456789';

  beforeAll(() => fs.mkdirSync(blocks, { recursive: true }));

  /** A loop device with markers at the start, middle and end, linked into the discovery dir. */
  function device(name: string) {
    const dev = lab.attach(lab.image(name, 8));
    for (const offset of [0, 4 * MiB + 17, 8 * MiB - marker.length]) writeMarker(dev, marker, offset);
    const link = path.join(blocks, name);
    fs.symlinkSync(dev, link);
    return { dev, link };
  }

  test('refuses a mounted device, wherever it is mounted', async () => {
    const { dev, link } = device('mounted');
    sh('mkfs.ext4', ['-q', '-F', dev]);
    const recorded = await identityOf(link);
    const elsewhere = path.join(lab.root, 'elsewhere');
    fs.mkdirSync(elsewhere);
    lab.mount(dev, elsewhere);
    const guard = await guardBlockDevice(link, recorded, await MountTable.read());
    expect(guard).toEqual({ ok: false, message: `device ${recorded.devno} of ${link} is mounted at ${elsewhere}` });
    // Even when this process's mount table does not show it, the exclusive open refuses.
    const blind = await guardBlockDevice(link, recorded, new MountTable([]));
    expect(blind).toEqual({ ok: false, message: `${link} cannot be opened exclusively: it is in use (mounted or claimed elsewhere on the host)` });
    lab.umount(elsewhere);
  });

  test('refuses a device whose identity changed: another device behind the link, or another image on the same loop device', async () => {
    const { dev, link } = device('swap-a');
    const recorded = await identityOf(link);
    const b = device('swap-b');
    fs.unlinkSync(link);
    fs.symlinkSync(b.dev, link);
    const relinked = await guardBlockDevice(link, recorded, await MountTable.read());
    expect(relinked).toEqual({ ok: false, message: expect.stringMatching(new RegExp(`is not the device that was published \\(recorded ${recorded.devno}, loop:.*swap-a.img.*; found ${(await identityOf(b.dev)).devno}`)) });

    fs.unlinkSync(link);
    fs.symlinkSync(dev, link);
    lab.detach(dev);
    lab.attach(lab.image('swap-c', 8), dev);
    const reattached = await guardBlockDevice(link, recorded, await MountTable.read());
    expect(reattached).toEqual({ ok: false, message: expect.stringMatching(/is not the device that was published \(recorded .*swap-a\.img.*found .*swap-c\.img/) });
  });

  test('refuses a device with holders (sysfs), and a link that is not a block device', async () => {
    const { link } = device('held');
    const st = fs.statSync(link, { bigint: true });
    const devno = devnoOf(st.rdev);
    // A sysfs tree where the device has a holder, as device mapper or md would create.
    const sys = path.join(lab.root, 'sys');
    fs.mkdirSync(path.join(sys, 'dev/block', devno, 'holders/dm-0'), { recursive: true });
    const recorded = await readDeviceIdentity(devno, sys);
    const held = await guardBlockDevice(link, recorded, await MountTable.read(), sys);
    expect(held).toEqual({ ok: false, message: `device ${devno} of ${link} is held by dm-0` });

    const file = path.join(blocks, 'plain-file');
    fs.writeFileSync(file, 'x');
    expect(await guardBlockDevice(file, recorded, await MountTable.read())).toEqual({ ok: false, message: `${file} is no longer a block device` });
  });

  test.each<[BlockCleanerKind, number | undefined]>([['ZERO', 1], ['SHRED', 1], ['BLKDISCARD', undefined]])('%s erases the markers', async (kind, passes) => {
    const { dev, link } = device(`clean-${kind.toLowerCase()}`);
    expect(contains(readDevice(dev), marker)).toBe(true);
    const guard = await guardBlockDevice(link, await identityOf(link), await MountTable.read());
    if (!guard.ok) throw new Error(guard.message);
    await runBlockCleaner(guard.device, kind, passes);
    const after = readDevice(dev);
    expect(after.length).toBe(8 * MiB);
    expect(contains(after, marker)).toBe(false);
    if (kind !== 'BLKDISCARD') expect(after.every(b => b === 0)).toBe(true);
  });

  test('QUICK_RESET removes filesystem signatures', async () => {
    const { dev, link } = device('quick');
    sh('mkfs.ext4', ['-q', '-F', dev]);
    expect(sh('wipefs', ['--noheadings', '--output', 'TYPE', dev])).toBe('ext4');
    const guard = await guardBlockDevice(link, await identityOf(link), await MountTable.read());
    if (!guard.ok) throw new Error(guard.message);
    await runBlockCleaner(guard.device, 'QUICK_RESET', undefined);
    expect(sh('wipefs', ['--noheadings', '--output', 'TYPE', dev])).toBe('');
    // The ext4 magic (0xEF53 at byte 1080) is gone.
    expect(readDevice(dev).readUInt16LE(1080)).not.toBe(0xef53);
  });

  test('the guard holds the device exclusively while a cleaner runs: a mount attempt fails', async () => {
    const { dev, link } = device('exclusive');
    sh('mkfs.ext4', ['-q', '-F', dev]);
    const guard = await guardBlockDevice(link, await identityOf(link), await MountTable.read());
    if (!guard.ok) throw new Error(guard.message);
    const target = path.join(lab.root, 'exclusive-mnt');
    fs.mkdirSync(target);
    expect(() => lab.mount(dev, target)).toThrow();
    await runBlockCleaner(guard.device, 'ZERO', 1);
    expect((await MountTable.read()).isMountPoint(target)).toBe(false);
  });
});

/**
 * Usage measurement on real temporary directories: allocated blocks, no symlink followed,
 * hard links once, the time budget, bounded concurrency and the cache between passes.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Limiter } from '../../../src/runtime/core/limiter';
import { MAX_DEPTH, UsageMeter, VolumeDirectory, walkVolume } from '../../../src/runtime/nfs/usage';
import { at, BYTE_NAMES, makeByteNamedTree } from '../fs/tenant-trees';

let root: string;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'usage-'));
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
});

/** What `du` would count for these paths: allocated blocks. */
function blocks(...paths: string[]): bigint {
  return paths.reduce((sum, p) => sum + BigInt(fs.lstatSync(p).blocks) * 512n, 0n);
}

function write(rel: string, bytes: number): string {
  const file = path.join(root, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, Buffer.alloc(bytes, 7));
  return file;
}

/** How often a pass over `volumes` with time enough reads its clock: the work-clock length of the pass. */
async function clockReadsOf(volumes: VolumeDirectory[]): Promise<number> {
  let reads = 0;
  await new UsageMeter(root, { budgetMs: Number.MAX_SAFE_INTEGER, now: () => reads++ }).pass(volumes);
  return reads;
}

const unlimited = () => ({ limiter: new Limiter(8), deadline: Number.MAX_SAFE_INTEGER, now: Date.now });

test('counts the allocated blocks of files and directories, recursively', async () => {
  const a = write('vol/a.bin', 100_000);
  const b = write('vol/sub/deeper/b.bin', 5000);
  const result = await walkVolume(root, 'vol', unlimited());
  const dirs = ['vol', 'vol/sub', 'vol/sub/deeper'].map((d) => path.join(root, d));
  expect(result).toEqual({ bytes: blocks(a, b, ...dirs), complete: true, entries: 5 });
  // Blocks, not apparent sizes: at least the data, rounded up to whole blocks.
  expect(result.bytes).toBeGreaterThanOrEqual(105_000n);
});

test('a sparse file counts what it occupies, not its length', async () => {
  const file = path.join(root, 'vol', 'sparse');
  fs.mkdirSync(path.dirname(file));
  const fd = fs.openSync(file, 'w');
  fs.ftruncateSync(fd, 1024 * 1024 * 1024);
  fs.closeSync(fd);
  const result = await walkVolume(root, 'vol', unlimited());
  expect(result.bytes).toBe(blocks(file, path.join(root, 'vol')));
  expect(result.bytes).toBeLessThan(1024n * 1024n);
});

test('symbolic links are counted as links and never followed (to a file, a directory, or out of the volume)', async () => {
  const outside = write('outside/big.bin', 2_000_000);
  write('vol/own.bin', 1000);
  fs.symlinkSync(outside, path.join(root, 'vol', 'to-file'));
  fs.symlinkSync(path.dirname(outside), path.join(root, 'vol', 'to-dir'));
  fs.symlinkSync('/', path.join(root, 'vol', 'to-root'));
  const result = await walkVolume(root, 'vol', unlimited());
  const counted = ['vol', 'vol/own.bin', 'vol/to-file', 'vol/to-dir', 'vol/to-root'].map((p) => path.join(root, p));
  expect(result).toEqual({ bytes: blocks(...counted), complete: true, entries: 5 });
  expect(result.bytes).toBeLessThan(100_000n);
});

test('a volume directory that is itself a symlink is refused, not followed', async () => {
  write('real/data.bin', 50_000);
  fs.symlinkSync(path.join(root, 'real'), path.join(root, 'vol'));
  await expect(walkVolume(root, 'vol', unlimited())).rejects.toThrow(/is not a directory \(or is reached through a symbolic link\)/);
  // Also when the link is a parent on the way.
  fs.symlinkSync(root, path.join(root, 'ns'));
  await expect(walkVolume(root, 'ns/real', unlimited())).rejects.toThrow(/symbolic link/);
});

test('a file with several hard links counts once; the same inode in two volumes counts in each', async () => {
  const original = write('vol/a.bin', 64_000);
  fs.mkdirSync(path.join(root, 'vol', 'sub'));
  fs.linkSync(original, path.join(root, 'vol', 'b.bin'));
  fs.linkSync(original, path.join(root, 'vol', 'sub', 'c.bin'));
  fs.mkdirSync(path.join(root, 'other'));
  fs.linkSync(original, path.join(root, 'other', 'd.bin'));
  const result = await walkVolume(root, 'vol', unlimited());
  expect(result.bytes).toBe(blocks(original, path.join(root, 'vol'), path.join(root, 'vol', 'sub')));
  const other = await walkVolume(root, 'other', unlimited());
  expect(other.bytes).toBe(blocks(original, path.join(root, 'other')));
});

test('names that are not UTF-8 are counted: 22 MB under the name 0xff is reported, not skipped', async () => {
  const vol = path.join(root, 'vol');
  fs.mkdirSync(vol);
  const made = makeByteNamedTree(vol, 22_000_000);
  const [file, sub, inner] = BYTE_NAMES;
  const entries = [at(vol, file), at(vol, sub), at(at(vol, sub), inner), at(at(vol, sub), file)];
  expect(entries).toHaveLength(made);
  const result = await walkVolume(root, 'vol', unlimited());
  const allocated = [vol, ...entries].reduce((sum, p) => sum + BigInt(fs.lstatSync(p).blocks) * 512n, 0n);
  expect(result).toEqual({ complete: true, entries: 1 + made, bytes: allocated });
  expect(result.bytes).toBeGreaterThanOrEqual(22_000_000n);
});

test('relative paths that could leave the root are refused', async () => {
  for (const bad of ['../x', 'a/../../b', '', 'a//b', './a']) {
    await expect(walkVolume(root, bad, unlimited())).rejects.toThrow(/not a plain relative path/);
  }
});

test(`directories deeper than ${MAX_DEPTH} are not walked and the result says it is a lower bound`, async () => {
  const deep = Array.from({ length: MAX_DEPTH + 3 }, (_, i) => `d${i}`).join('/');
  write(`vol/${deep}/leaf.bin`, 10_000);
  const result = await walkVolume(root, 'vol', unlimited());
  expect(result.complete).toBe(false);
  // The volume itself and MAX_DEPTH levels below it.
  expect(result.entries).toBe(MAX_DEPTH + 1);
});

describe('UsageMeter', () => {
  test('a pass measures every volume; the cache answers between passes and forgets removed volumes', async () => {
    write('a/x.bin', 10_000);
    write('b/y.bin', 20_000);
    const meter = new UsageMeter(root, { budgetMs: 60_000 });
    const result = await meter.pass([{ name: 'pv-a', relativePath: 'a' }, { name: 'pv-b', relativePath: 'b' }]);
    expect(result.complete.sort()).toEqual(['pv-a', 'pv-b']);
    expect(result.partial).toEqual([]);
    expect(meter.get('pv-b')).toMatchObject({ bytes: blocks(path.join(root, 'b'), path.join(root, 'b/y.bin')), complete: true });
    expect(meter.get('pv-b')?.measuredAt).toBeInstanceOf(Date);

    await meter.pass([{ name: 'pv-a', relativePath: 'a' }]);
    expect(meter.get('pv-b')).toBeUndefined();
    expect(meter.get('pv-a')).toBeDefined();
  });

  test('a missing directory is a failure of that volume only', async () => {
    write('a/x.bin', 10);
    const meter = new UsageMeter(root, { budgetMs: 60_000 });
    const result = await meter.pass([{ name: 'pv-a', relativePath: 'a' }, { name: 'pv-gone', relativePath: 'gone' }]);
    expect(result.complete).toEqual(['pv-a']);
    expect(result.failed).toEqual([{ name: 'pv-gone', error: expect.stringContaining('ENOENT') }]);
    // Named by its path on the export, not by the /proc/self/fd path the walk used.
    expect(result.failed[0].error).toBe(`open ${path.join(root, 'gone')}: ENOENT`);
  });

  test('the time budget: a pass stops when it is spent, keeps partial values as lower bounds, and starts with the stalest next time', async () => {
    for (let i = 0; i < 30; i++) write(`big/d${i}/f.bin`, 4096);
    write('small/s.bin', 4096);
    let clock = 0;
    // Every clock read advances 1 ms: the walk of "big" outlives a 10 ms budget.
    const meter = new UsageMeter(root, { budgetMs: 10, now: () => clock++, volumesAtOnce: 1 });
    const volumes = [{ name: 'pv-big', relativePath: 'big' }, { name: 'pv-small', relativePath: 'small' }];
    const first = await meter.pass(volumes);
    expect(first.partial).toEqual(['pv-big']);
    expect(first.notReached).toEqual(['pv-small']);
    expect(first.seconds).toBeLessThan(0.1);
    const partial = meter.get('pv-big')!;
    expect(partial.complete).toBe(false);
    expect(partial.bytes).toBeGreaterThan(0n);

    // Next pass: the never-measured volume goes first.
    const second = await meter.pass(volumes);
    expect(second.complete).toEqual(['pv-small']);

    // With time enough, the big one completes and replaces the lower bound.
    const patient = new UsageMeter(root, { budgetMs: 60_000 });
    await patient.pass(volumes);
    expect(patient.get('pv-big')!.complete).toBe(true);
    expect(patient.get('pv-big')!.bytes).toBeGreaterThan(partial.bytes);
  });

  test('a volume cut short because it started late goes first in the next pass, ahead of the never-reached and the measured', async () => {
    for (const v of ['a', 'b', 'c']) for (let i = 0; i < 5; i++) write(`${v}/d${i}/f.bin`, 10);
    const volumes = ['a', 'b', 'c'].map((v) => ({ name: `pv-${v}`, relativePath: v }));
    let clock = 0;
    // Budget on a work clock (one tick per clock read): room for one volume and a half.
    const meter = new UsageMeter(root, { budgetMs: Math.floor((await clockReadsOf([volumes[0]])) * 1.5), now: () => clock++, volumesAtOnce: 1 });
    expect(await meter.pass(volumes)).toMatchObject({ complete: ['pv-a'], partial: ['pv-b'], notReached: ['pv-c'] });
    expect(await meter.pass(volumes)).toMatchObject({ complete: ['pv-b'], partial: ['pv-c'], notReached: ['pv-a'] });
    expect(await meter.pass(volumes)).toMatchObject({ complete: ['pv-c'], partial: ['pv-a'], notReached: ['pv-b'] });
  });

  test('a volume cut short though it had the whole pass waits for its turn like a measured one (it does not take every pass)', async () => {
    for (let i = 0; i < 20; i++) write(`big/d${i}/f.bin`, 10);
    for (const v of ['s1', 's2']) for (let i = 0; i < 5; i++) write(`${v}/d${i}/f.bin`, 10);
    const volumes = ['big', 's1', 's2'].map((v) => ({ name: `pv-${v}`, relativePath: v }));
    let clock = 0;
    const meter = new UsageMeter(root, { budgetMs: Math.floor((await clockReadsOf([volumes[1]])) * 1.5), now: () => clock++, volumesAtOnce: 1 });
    expect(await meter.pass(volumes)).toMatchObject({ complete: [], partial: ['pv-big'], notReached: ['pv-s1', 'pv-s2'] });
    expect(await meter.pass(volumes)).toMatchObject({ complete: ['pv-s1'], partial: ['pv-s2'], notReached: ['pv-big'] });
    expect(await meter.pass(volumes)).toMatchObject({ complete: ['pv-s2'], partial: ['pv-big'], notReached: ['pv-s1'] });
  });

  test('a partial walk does not lower a complete earlier value', async () => {
    for (let i = 0; i < 20; i++) write(`v/d${i}/f.bin`, 4096);
    let clock = 0;
    let step = 0;
    const meter = new UsageMeter(root, { budgetMs: 10, now: () => (clock += step) });
    await meter.pass([{ name: 'pv', relativePath: 'v' }]);
    const complete = meter.get('pv')!;
    expect(complete.complete).toBe(true);

    // Now the clock runs fast: the walk is cut short and says less than the truth.
    step = 3;
    const result = await meter.pass([{ name: 'pv', relativePath: 'v' }]);
    expect(result.partial).toEqual(['pv']);
    expect(meter.get('pv')).toBe(complete);
  });

  test('file system calls stay within the concurrency bound', async () => {
    for (let i = 0; i < 8; i++) for (let j = 0; j < 40; j++) write(`v${i}/f${j}`, 10);
    const limiter = new Limiter(3);
    let peak = 0;
    const original = limiter.run.bind(limiter);
    limiter.run = async <T>(fn: () => Promise<T>) => original(async () => {
      peak = Math.max(peak, limiter.running);
      return fn();
    });
    await Promise.all(Array.from({ length: 8 }, (_, i) => walkVolume(root, `v${i}`, { limiter, deadline: Number.MAX_SAFE_INTEGER, now: Date.now })));
    expect(peak).toBe(3);
  });
});

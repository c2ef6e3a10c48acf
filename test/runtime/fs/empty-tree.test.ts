/**
 * The shared tree walker on real directories (root: bind mounts and tmpfs are made and
 * undone here): names as bytes, depth past PATH_MAX, re-reading a directory that changed
 * while it was read, mounts found by descriptor, and the paths its errors show.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BYTE_NAMES, makeByteNamedTree, makeDeepTree, makeImmutable } from './tenant-trees';
import { emptyTree, MAX_PINNED_DEPTH } from '../../../src/runtime/fs/empty-tree';
import { PinnedDir } from '../../../src/runtime/fs/pinned-dir';
import { MAX_SHOWN_CHARS } from '../../../src/runtime/fs/show-path';

let base: string;
let vol: string;
let outside: string;
const mounted: string[] = [];

function mount(args: string[], dir: string): void {
  execFileSync('mount', [...args, dir]);
  mounted.push(dir);
}

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'empty-tree-'));
  vol = path.join(base, 'vol');
  outside = path.join(base, 'outside');
  fs.mkdirSync(vol);
  fs.mkdirSync(path.join(outside, 'dir'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'dir', 'secret'), 'keep me');
});

afterEach(() => {
  for (const dir of mounted.splice(0).reverse()) execFileSync('umount', [dir]);
  fs.rmSync(base, { recursive: true, force: true });
});

async function empty(dir: string, options = {}) {
  const top = await PinnedDir.open(dir);
  try {
    return await emptyTree(top, options);
  } finally {
    await top.close();
  }
}

test('removes names that are not UTF-8, addressing them by their bytes', async () => {
  // None of them survives a round trip through a string.
  for (const name of BYTE_NAMES) expect(Buffer.from(name.toString('utf8'), 'utf8').equals(name)).toBe(false);
  const made = makeByteNamedTree(vol);
  expect(fs.readdirSync(vol, { encoding: 'buffer' })).toHaveLength(2);
  await expect(empty(vol)).resolves.toEqual({ removed: made, kept: [] });
  expect(fs.readdirSync(vol)).toEqual([]);
});

test(`removes a tree deeper than PATH_MAX (120 levels), holding at most ${MAX_PINNED_DEPTH} directories open`, async () => {
  const tree = makeDeepTree(vol, 120, 'd'.repeat(40));
  expect(tree.pathBytes).toBeGreaterThan(4096);
  const open = () => fs.readdirSync('/proc/self/fd').length;
  let mostOpen = 0;
  // Called for every entry the walk looks at: counts the descriptors open at that moment.
  const result = await empty(vol, { isMountPoint: () => ((mostOpen = Math.max(mostOpen, open())), false) });
  expect(result).toEqual({ removed: 121, kept: [] });
  expect(fs.readdirSync(vol)).toEqual([]);
  // Two per pinned level (the directory and its listing), plus the top and the fdinfo read.
  expect(mostOpen - open()).toBeLessThanOrEqual(2 * (MAX_PINNED_DEPTH + 1) + 1);
});

test('a directory is read again until a pass finds nothing: entries added while it is read are removed too', async () => {
  for (let i = 0; i < 600; i++) fs.writeFileSync(path.join(vol, `f${i}`), '');
  let added = 0;
  // The hook runs for every entry: the first 200 calls each add a file the listing may already be past.
  const result = await empty(vol, { isMountPoint: () => (added < 200 && fs.writeFileSync(path.join(vol, `late${added++}`), ''), false) });
  expect(result).toEqual({ removed: 800, kept: [] });
  expect(fs.readdirSync(vol)).toEqual([]);
});

test('never enters a bind mount of the same filesystem, found by its descriptor without the mount table', async () => {
  fs.mkdirSync(path.join(vol, 'a', 'bound'), { recursive: true });
  fs.writeFileSync(path.join(vol, 'a', 'file'), 'tenant');
  mount(['--bind', path.join(outside, 'dir')], path.join(vol, 'a', 'bound'));
  const result = await empty(vol);
  expect(result.kept).toEqual([path.join(vol, 'a', 'bound')]);
  expect(fs.readdirSync(path.join(vol, 'a'))).toEqual(['bound']);
  expect(fs.readFileSync(path.join(outside, 'dir', 'secret'), 'utf8')).toBe('keep me');
});

test('a failure deep in the tree names the path escaped and cut short, never /proc/self/fd', async () => {
  // tmpfs: the immutable file goes away with the unmount.
  mount(['-t', 'tmpfs', 'tmpfs'], vol);
  const name = `evil\nname-${'x'.repeat(90)}`;
  makeDeepTree(vol, 50, name, (bottom) => makeImmutable(`${bottom}/leaf`));
  const error = await empty(vol).catch((e: NodeJS.ErrnoException) => e);
  expect(error).toBeInstanceOf(Error);
  expect((error as NodeJS.ErrnoException).code).toBe('EPERM');
  const message = (error as Error).message;
  expect(message).not.toContain('/proc/self/fd');
  expect(message).not.toContain('\n');
  expect(message).toContain('evil\\x0aname');
  expect(message).toMatch(/^unlink .*\.\.\..*\/leaf: EPERM$/);
  expect(message.length).toBeLessThanOrEqual(MAX_SHOWN_CHARS + 'unlink : EPERM'.length);
});

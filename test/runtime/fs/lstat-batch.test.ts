/**
 * Batched lstat in a worker thread (src/runtime/fs/lstat-batch.ts), on real directories:
 * what it reports equals `lstatSync` on the main thread, links are never followed, paths
 * through a pinned directory's `/proc/self/fd/<fd>` reach that directory from the worker,
 * names are bytes, and failures come back per path.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { at, BYTE_NAMES } from './tenant-trees';
import { EntryStat, isFailure, LstatOutcome, LstatWorker } from '../../../src/runtime/fs/lstat-batch';
import { PinnedDir } from '../../../src/runtime/fs/pinned-dir';

let root: string;
let worker: LstatWorker;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lstat-batch-'));
  worker = new LstatWorker();
});
afterEach(async () => {
  await worker.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/** What the walk reads, from lstatSync on the main thread. */
function expected(p: string | Buffer): EntryStat {
  const st = fs.lstatSync(p, { bigint: true });
  return { directory: st.isDirectory(), dev: st.dev, ino: st.ino, nlink: st.nlink, blocks: st.blocks };
}

test('reports what lstatSync does for a file, a directory and a symbolic link (the link, not its target)', async () => {
  fs.writeFileSync(path.join(root, 'file'), Buffer.alloc(20_000, 7));
  fs.mkdirSync(path.join(root, 'dir'));
  fs.symlinkSync(path.join(root, 'dir'), path.join(root, 'link'));
  fs.linkSync(path.join(root, 'file'), path.join(root, 'hard'));
  const names = ['file', 'dir', 'link', 'hard'];
  const outcomes = await worker.lstat(names.map((n) => Buffer.from(path.join(root, n))));
  expect(outcomes).toEqual(names.map((n) => expected(path.join(root, n))));
  const [file, dir, link, hard] = outcomes as EntryStat[];
  expect([file.directory, dir.directory, link.directory]).toEqual([false, true, false]);
  expect(link.ino).not.toBe(dir.ino);
  expect(hard.ino).toBe(file.ino);
  expect(file.nlink).toBe(2n);
  expect(file.blocks).toBeGreaterThan(0n);
});

test('through a pinned directory\'s /proc/self/fd path, names as bytes, the worker reaches that directory', async () => {
  const vol = path.join(root, 'vol');
  fs.mkdirSync(vol);
  for (const name of BYTE_NAMES) fs.writeFileSync(at(vol, name), 'x');
  const dir = await PinnedDir.open(vol);
  try {
    // Renamed after it was pinned: the descriptor still names it, the old path does not.
    fs.renameSync(vol, path.join(root, 'moved'));
    fs.mkdirSync(vol);
    const outcomes = await worker.lstat(BYTE_NAMES.map((name) => dir.at(name)));
    expect(outcomes).toEqual(BYTE_NAMES.map((name) => expected(at(path.join(root, 'moved'), name))));
  } finally {
    await dir.close();
  }
});

test('a missing entry is undefined; another failure comes back with its code, the other paths answered', async () => {
  fs.writeFileSync(path.join(root, 'file'), 'x');
  const outcomes = await worker.lstat([
    Buffer.from(path.join(root, 'gone')),
    Buffer.from(path.join(root, 'file', 'below')),
    Buffer.from(path.join(root, 'file')),
  ]);
  expect(outcomes[0]).toBeUndefined();
  expect(isFailure(outcomes[1])).toBe(true);
  expect(outcomes[1]).toMatchObject({ code: 'ENOTDIR', syscall: 'lstat' });
  expect(outcomes[2]).toEqual(expected(path.join(root, 'file')));
});

test('batches asked at once are each answered with their own paths', async () => {
  for (let i = 0; i < 50; i++) fs.writeFileSync(path.join(root, `f${i}`), Buffer.alloc(i * 1000));
  const batches = Array.from({ length: 10 }, (_, b) => Array.from({ length: 5 }, (__, j) => path.join(root, `f${b * 5 + j}`)));
  const answers: LstatOutcome[][] = await Promise.all(batches.map((batch) => worker.lstat(batch.map((p) => Buffer.from(p)))));
  expect(answers).toEqual(batches.map((batch) => batch.map((p) => expected(p))));
});

test('an empty batch needs no worker; after close a new batch starts a new one', async () => {
  await expect(worker.lstat([])).resolves.toEqual([]);
  fs.writeFileSync(path.join(root, 'file'), 'x');
  await worker.lstat([Buffer.from(path.join(root, 'file'))]);
  await worker.close();
  await expect(worker.lstat([Buffer.from(path.join(root, 'file'))])).resolves.toEqual([expected(path.join(root, 'file'))]);
});

test('closing rejects the batches still waiting', async () => {
  fs.writeFileSync(path.join(root, 'file'), 'x');
  const waiting = worker.lstat(Array.from({ length: 2000 }, () => Buffer.from(path.join(root, 'file'))));
  const rejected = expect(waiting).rejects.toThrow('the lstat worker was stopped');
  await worker.close();
  await rejected;
});

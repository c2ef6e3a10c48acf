/**
 * The filesystem wipe against a tenant who races it. A wipe that walks by path follows a
 * directory swapped for a symlink into the neighbouring volume and deletes its files. Here
 * a helper process (rename-exchange.c, compiled now) swaps a directory of the volume being
 * wiped with a symlink to the neighbour, RENAME_EXCHANGE in a loop, while the volume is
 * filled and wiped again and again. The neighbour is a read-only bind mount, so any write
 * the wipe tries there fails loudly (EROFS) instead of silently losing files.
 * Root only; every mount is undone in afterAll.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { wipeAt } from './wipe-at';
import { MountTable } from '../../../src/runtime/local/mountinfo';
import { LoopLab, sh } from '../../util/loop-lab';
import { until } from '../core/until';

const ROUNDS_PER_CASE = 1000;
const FILES = 20;
const INNER_FILES = 5;

const lab = new LoopLab('wipe-race');
afterAll(() => lab.cleanup());

const disks = path.join(lab.root, 'disks');
const vol = path.join(disks, 'vol1');
const neighbour = path.join(disks, 'vol2');
/** The directory of the volume and the symlink that the helper swaps. */
const dir = path.join(vol, 'sub');
const link = path.join(vol, 'link');
let helper: string;

/** The same names in the swapped directory and in the neighbour: a stray unlink has a target. */
function fillTree(root: string): void {
  fs.mkdirSync(path.join(root, 'inner'), { recursive: true });
  for (let i = 0; i < FILES; i++) fs.writeFileSync(path.join(root, `f${i}`), 'data');
  for (let i = 0; i < INNER_FILES; i++) fs.writeFileSync(path.join(root, 'inner', `g${i}`), 'data');
}

function neighbourFiles(): string[] {
  return fs.readdirSync(neighbour, { recursive: true, encoding: 'utf8' }).sort();
}

beforeAll(() => {
  helper = path.join(lab.root, 'rename-exchange');
  sh('cc', ['-O2', '-Wall', '-o', helper, path.join(__dirname, 'rename-exchange.c')]);
  for (const d of [vol, neighbour]) {
    fs.mkdirSync(d, { recursive: true });
    lab.mount('tmpfs', d, ['-t', 'tmpfs', '-o', 'size=16m']);
  }
  fillTree(neighbour);
  lab.bind(neighbour, neighbour);
  sh('mount', ['-o', 'remount,bind,ro', neighbour]);
});

/** Fills the volume: the directory and the symlink are made aside and moved into place. */
function fillVolume(target: string): void {
  const staged = path.join(vol, 'staged');
  fillTree(staged);
  fs.symlinkSync(target, path.join(vol, 'staged-link'));
  fs.renameSync(staged, dir);
  fs.renameSync(path.join(vol, 'staged-link'), link);
}

/** Empties the volume by other means while the helper is stopped (after a failed or partial wipe). */
async function resetVolume(swapper: ChildProcess): Promise<void> {
  swapper.kill('SIGSTOP');
  await until(() => /^\d+ \(.*\) T/.test(fs.readFileSync(`/proc/${swapper.pid}/stat`, 'utf8')), 60_000);
  for (const name of fs.readdirSync(vol)) fs.rmSync(path.join(vol, name), { recursive: true, force: true });
  swapper.kill('SIGCONT');
}

/** Stops the helper; the number of swaps it made. */
async function stopSwapper(swapper: ChildProcess, output: Promise<string>): Promise<number> {
  swapper.kill('SIGTERM');
  return Number((await output).trim());
}

test('the neighbour is read-only: a stray write there fails loudly', () => {
  expect(() => fs.writeFileSync(path.join(neighbour, 'f0'), 'x')).toThrow(/EROFS/);
  expect(neighbourFiles()).toHaveLength(FILES + 1 + INNER_FILES);
});

test.each([
  ['an absolute symlink', () => neighbour],
  ['a relative symlink (../vol2)', () => '../vol2'],
])(`${ROUNDS_PER_CASE} wipes while a directory is swapped with %s to the neighbour: no file of the neighbour is touched`, async (_what, target) => {
  const before = neighbourFiles();
  const mounts = await MountTable.read();
  const swapper = spawn(helper, [dir, link], { stdio: ['ignore', 'pipe', 'inherit'] });
  const output = new Promise<string>((resolve) => {
    let text = '';
    swapper.stdout!.on('data', (chunk) => (text += chunk));
    swapper.on('exit', () => resolve(text));
  });
  const failures: string[] = [];
  let swaps: number;
  try {
    fillVolume(target());
    // The race is on before the first wipe: the helper has swapped at least once.
    await until(() => fs.lstatSync(dir).isSymbolicLink(), 60_000);
    for (let round = 0; round < ROUNDS_PER_CASE; round++) {
      if (round > 0) fillVolume(target());
      const error = await wipeAt(vol, mounts).then(() => undefined, (e: Error) => e);
      if (error) failures.push(error.message);
      if (error || fs.readdirSync(vol).length > 0) await resetVolume(swapper);
    }
  } finally {
    swaps = await stopSwapper(swapper, output);
  }
  expect(swaps).toBeGreaterThan(0);
  expect(neighbourFiles()).toEqual(before);
  // A wipe may fail (it is retried), but never by trying to write into the neighbour.
  expect(failures.filter((m) => /EROFS|read-only/.test(m))).toEqual([]);
  expect(failures).toEqual([]);
}, 300_000);

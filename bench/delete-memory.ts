/**
 * Benchmark: wall time and peak memory of deleting a tree of 1,000,000 entries (one
 * directory of 300,000 empty files, the rest in directories of 100,000), on a tmpfs.
 * Measured for
 *  - the cdk8s-storage walker (src/runtime/fs/empty-tree.ts), which the local wipe and
 *    the NFS delete use: listings streamed 128 entries at a time;
 *  - a named baseline, "whole-directory readdir" (bench/readdir-baseline.ts): the NFS
 *    delete before the walker, each directory read whole, every entry lstat-ed.
 * Each deletion runs in a process of its own, so the peak resident set it reports
 * (getrusage maxRSS, minus the value before the deletion started) is its own.
 *
 *   npx ts-node --project test/tsconfig.json bench/delete-memory.ts [--entries=1000000] [--largest=300000]
 *
 * Needs root (mounts a tmpfs) and `xargs touch` (to create the files quickly).
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { removeTreeWithReaddir } from './readdir-baseline';
import { emptyTree } from '../src/runtime/fs/empty-tree';
import { PinnedDir } from '../src/runtime/fs/pinned-dir';

const SUBJECTS = {
  'walker': 'cdk8s-storage walker (streamed listings)',
  'readdir': 'baseline: whole-directory readdir',
} as const;
type Subject = keyof typeof SUBJECTS;

interface Measurement {
  readonly removed: number;
  readonly wallMs: number;
  /** Peak RSS during the deletion above the RSS before it, KiB. */
  readonly peakExtraKiB: number;
  /** Peak RSS of the whole process, KiB. */
  readonly peakKiB: number;
}

function option(name: string, fallback: number): number {
  const given = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return given === undefined ? fallback : Number(given);
}

/** In a child: deletes everything inside `dir` with `subject` and prints a Measurement. */
async function measure(subject: Subject, dir: string): Promise<void> {
  const before = process.resourceUsage().maxRSS;
  const started = performance.now();
  let removed: number;
  if (subject === 'walker') {
    const top = await PinnedDir.open(dir);
    try {
      removed = (await emptyTree(top)).removed;
    } finally {
      await top.close();
    }
  } else {
    removed = await removeTreeWithReaddir(dir);
  }
  const wallMs = performance.now() - started;
  const peakKiB = process.resourceUsage().maxRSS;
  const result: Measurement = { removed, wallMs, peakExtraKiB: peakKiB - before, peakKiB };
  process.stdout.write(JSON.stringify(result) + '\n');
}

/** `entries` empty files: one directory of `largest`, the rest in directories of at most 100,000. */
function makeTree(dir: string, entries: number, largest: number): void {
  const sizes = [Math.min(largest, entries)];
  for (let left = entries - sizes[0]; left > 0; left -= sizes[sizes.length - 1]) sizes.push(Math.min(100_000, left));
  sizes.forEach((size, i) => {
    const sub = path.join(dir, `d${i}`);
    fs.mkdirSync(sub);
    // Many names per touch: creating a million files one call at a time from node takes minutes.
    execFileSync('sh', ['-c', `seq -f 'f%.0f' 1 ${size} | xargs touch`], { cwd: sub, stdio: 'inherit' });
  });
}

/** Runs one deletion in a child process; ts-node compiles this file again there. */
function runChild(subject: Subject, dir: string): Promise<Measurement> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename, `--child=${subject}`, `--dir=${dir}`], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, TS_NODE_PROJECT: path.join(__dirname, '..', 'test', 'tsconfig.json') },
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as Measurement) : reject(new Error(`${subject} exited with ${code}`))));
  });
}

async function main(): Promise<void> {
  const childSubject = process.argv.find((a) => a.startsWith('--child='))?.slice('--child='.length) as Subject | undefined;
  if (childSubject) {
    await measure(childSubject, process.argv.find((a) => a.startsWith('--dir='))!.slice('--dir='.length));
    return;
  }
  const entries = option('entries', 1_000_000);
  const largest = option('largest', 300_000);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'delete-memory-'));
  const tree = path.join(base, 'tree');
  fs.mkdirSync(tree);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=256m,nr_inodes=${entries * 2 + 1000}`, 'tmpfs', tree]);
  const results = new Map<Subject, Measurement>();
  try {
    for (const subject of Object.keys(SUBJECTS) as Subject[]) {
      const made = Date.now();
      makeTree(tree, entries, largest);
      console.log(`${SUBJECTS[subject]}: made ${entries} files in ${((Date.now() - made) / 1000).toFixed(1)} s, deleting ...`);
      const result = await runChild(subject, tree);
      if (fs.readdirSync(tree).length > 0) throw new Error(`${subject} left entries behind`);
      results.set(subject, result);
    }
  } finally {
    execFileSync('umount', [tree]);
    fs.rmSync(base, { recursive: true, force: true });
  }

  const MiB = (kib: number) => (kib / 1024).toFixed(1);
  const pad = (text: string) => text.padEnd(44);
  console.log(`\nDeleting ${entries} entries (largest directory ${largest}) on tmpfs, ${os.cpus().length} CPUs:\n`);
  console.log(`${pad('')}${'wall (s)'.padStart(9)}${'peak RSS extra (MiB)'.padStart(22)}${'peak RSS (MiB)'.padStart(16)}`);
  for (const [subject, r] of results) {
    console.log(`${pad(SUBJECTS[subject])}${(r.wallMs / 1000).toFixed(1).padStart(9)}${MiB(r.peakExtraKiB).padStart(22)}${MiB(r.peakKiB).padStart(16)}`);
  }
  const walker = results.get('walker')!;
  const baseline = results.get('readdir')!;
  const ratio = (a: number, b: number) => `${(a / Math.max(b, 1)).toFixed(2)}x`;
  console.log(`${pad('ratio baseline / walker')}${ratio(baseline.wallMs, walker.wallMs).padStart(9)}${ratio(baseline.peakExtraKiB, walker.peakExtraKiB).padStart(22)}${ratio(baseline.peakKiB, walker.peakKiB).padStart(16)}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

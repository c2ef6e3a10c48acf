/**
 * Measures how many bytes each volume directory uses, on the mounted export.
 *
 * - Bytes are allocated blocks (`st_blocks * 512`), as `du` counts them: a sparse file
 *   counts what it occupies, a directory counts its own blocks.
 * - No symbolic link is followed: entries are `lstat`ed, and every directory is opened with
 *   O_NOFOLLOW | O_DIRECTORY and read through `/proc/self/fd/<fd>`, so a directory swapped
 *   for a link mid-walk cannot send the walk elsewhere. A link counts its own size.
 * - Names are bytes and listings are streamed (../fs/): a name that is not UTF-8 is
 *   counted like any other, and a directory of a million entries is never held in memory.
 *   Another file system mounted inside a volume is not counted.
 * - A file with several hard links inside one volume counts once.
 * - Entries are `lstat`ed in batches by a worker thread making synchronous calls
 *   (../fs/lstat-batch.ts): a quarter of the CPU of one promise per entry. A batch counts as
 *   one file system call below.
 * - Bounded: at most `concurrency` file system calls run at once over all volumes, and a
 *   pass stops walking when its time budget is spent. A walk cut short (or deeper than
 *   {@link MAX_DEPTH}) gives a lower bound, marked `complete: false`.
 * - Cached between passes: a volume the pass did not reach keeps its last measurement, and
 *   each pass starts with the volumes whose turn was longest ago, so every volume gets its
 *   turn. A turn is a complete walk, or a walk that started with the pass and still did not
 *   finish (a volume bigger than a pass can walk rotates with the rest instead of taking a
 *   lane of every pass); a walk cut short because it started late is no turn, so that
 *   volume goes first in the next pass instead of waiting a whole round again.
 */
import * as path from 'path';
import { forEachLimited, Limiter } from '../core/limiter';
import { EntryStat, isFailure, LstatWorker } from '../fs/lstat-batch';
import { PinnedDir } from '../fs/pinned-dir';
import { readEntries } from '../fs/read-entries';
import { errorAt, showPath } from '../fs/show-path';

export interface Measurement {
  /** Used bytes; a lower bound when `complete` is false. */
  readonly bytes: bigint;
  /** False when the walk was cut short. */
  readonly complete: boolean;
  /** Entries counted (files, directories, links ...). */
  readonly entries: number;
  readonly measuredAt: Date;
}

export interface VolumeDirectory {
  /** PV name (the cache key). */
  readonly name: string;
  /** Directory relative to the root. */
  readonly relativePath: string;
}

export interface PassResult {
  /** Volumes measured completely in this pass. */
  readonly complete: string[];
  /** Volumes whose walk was cut short (their bytes are a lower bound). */
  readonly partial: string[];
  /** Volumes the pass did not reach before its budget ran out (they keep their last value). */
  readonly notReached: string[];
  /** Volumes that could not be measured (missing directory, a symlink in its place, I/O error). */
  readonly failed: Array<{ readonly name: string; readonly error: string }>;
  readonly seconds: number;
}

export interface MeterOptions {
  /** Time budget of one pass, in ms. */
  readonly budgetMs: number;
  /** Most file system calls in flight at once. @default 16 */
  readonly concurrency?: number;
  /** Volumes walked at once. @default 4 */
  readonly volumesAtOnce?: number;
  /** Clock in ms (tests). @default Date.now */
  readonly now?: () => number;
}

/** Directories deeper than this below a volume are not walked (open descriptors stay bounded). */
export const MAX_DEPTH = 64;
/** Entries `lstat`ed at a time per directory (a huge directory does not create a million promises). */
const BATCH = 512;

export class UsageMeter {
  private readonly cache = new Map<string, Measurement>();
  /** When each volume last had its turn (see the top of this file), by the meter's clock. */
  private readonly turns = new Map<string, number>();
  private readonly limiter: Limiter;
  private readonly now: () => number;

  constructor(private readonly root: string, private readonly options: MeterOptions) {
    this.limiter = new Limiter(options.concurrency ?? 16);
    this.now = options.now ?? Date.now;
  }

  /** The last measurement of a volume. */
  get(name: string): Measurement | undefined {
    return this.cache.get(name);
  }

  /** Measures the volumes (longest-unmeasured first) until done or out of time. */
  async pass(volumes: readonly VolumeDirectory[]): Promise<PassResult> {
    const started = this.now();
    const deadline = started + this.options.budgetMs;
    const wanted = new Set(volumes.map((v) => v.name));
    for (const name of [...this.cache.keys()]) if (!wanted.has(name)) this.cache.delete(name);
    for (const name of [...this.turns.keys()]) if (!wanted.has(name)) this.turns.delete(name);

    const lanes = this.options.volumesAtOnce ?? 4;
    const order = [...volumes].sort((a, b) => this.lastTurn(a.name) - this.lastTurn(b.name));
    // forEachLimited starts volumes in this order: the first `lanes` start with the pass.
    const startsWithPass = new Set(order.slice(0, lanes).map((v) => v.name));
    const result = {
      complete: [] as string[],
      partial: [] as string[],
      notReached: [] as string[],
      failed: [] as Array<{ name: string; error: string }>,
    };
    await forEachLimited(order, lanes, async (volume) => {
      if (this.now() >= deadline) {
        result.notReached.push(volume.name);
        return;
      }
      try {
        const walked = await walkVolume(this.root, volume.relativePath, { limiter: this.limiter, deadline, now: this.now });
        const measurement: Measurement = { ...walked, measuredAt: new Date(this.now()) };
        const previous = this.cache.get(volume.name);
        if (walked.complete || startsWithPass.has(volume.name)) this.turns.set(volume.name, this.now());
        if (walked.complete) {
          this.cache.set(volume.name, measurement);
          result.complete.push(volume.name);
        } else {
          // A partial walk is a lower bound: it replaces an older value only when it says more.
          if (!previous || walked.bytes > previous.bytes) this.cache.set(volume.name, measurement);
          result.partial.push(volume.name);
        }
      } catch (error) {
        result.failed.push({ name: volume.name, error: (error as Error).message });
      }
    });
    return { ...result, seconds: (this.now() - started) / 1000 };
  }

  private lastTurn(name: string): number {
    return this.turns.get(name) ?? -Infinity;
  }
}

interface WalkContext {
  readonly limiter: Limiter;
  readonly deadline: number;
  readonly now: () => number;
  /** @default one worker thread for the process (idle, it does not keep the process alive) */
  readonly stats?: LstatWorker;
}

const sharedStats = new LstatWorker();

/** Walks one volume directory; throws when the directory itself cannot be opened. */
export async function walkVolume(root: string, relativePath: string, ctx: WalkContext): Promise<Omit<Measurement, 'measuredAt'>> {
  const segments = relativePath.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) throw new Error(`${JSON.stringify(relativePath)} is not a plain relative path`);

  // The root is our own mount point; everything below it is opened without following links.
  let dir = await PinnedDir.open(root, true);
  try {
    for (const segment of segments) {
      const child = await dir.openChild(segment).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ELOOP' || error.code === 'ENOTDIR') {
          throw new Error(`${showPath(path.posix.join(root, relativePath))} is not a directory (or is reached through a symbolic link); not measured`);
        }
        throw errorAt(error, dir.pathOf(segment));
      });
      await dir.close();
      dir = child;
    }
    const state = { bytes: dir.stat.blocks * 512n, entries: 1, complete: true, links: new Set<string>() };
    await walkDirectory(dir, dir, 1, state, ctx);
    return { bytes: state.bytes, complete: state.complete, entries: state.entries };
  } finally {
    await dir.close().catch(() => undefined);
  }
}

interface WalkState {
  bytes: bigint;
  entries: number;
  complete: boolean;
  /** `dev:ino` of files with more than one link, counted already. */
  readonly links: Set<string>;
}

/** Counts the entries of `dir` a batch at a time (the listing is streamed), descending as it goes. */
async function walkDirectory(top: PinnedDir, dir: PinnedDir, depth: number, state: WalkState, ctx: WalkContext): Promise<void> {
  if (ctx.now() >= ctx.deadline) {
    state.complete = false;
    return;
  }
  let batch: Buffer[] = [];
  try {
    for await (const entry of readEntries(dir, (call) => ctx.limiter.run(call))) {
      batch.push(entry.name);
      if (batch.length < BATCH) continue;
      if (!(await walkBatch(top, dir, batch, depth, state, ctx))) return;
      batch = [];
    }
  } catch (error) {
    throw errorAt(error, dir.path); // a failed listing; errors below name their own path
  }
  await walkBatch(top, dir, batch, depth, state, ctx);
}

/** Counts one batch of names of `dir` and walks its subdirectories; false when the time is up. */
async function walkBatch(top: PinnedDir, dir: PinnedDir, names: Buffer[], depth: number, state: WalkState, ctx: WalkContext): Promise<boolean> {
  if (ctx.now() >= ctx.deadline) {
    state.complete = false;
    return false;
  }
  const stats = await ctx.limiter.run(() => lstatAll(ctx.stats ?? sharedStats, dir, names));
  const subdirectories: Array<{ name: Buffer; seen: EntryStat }> = [];
  stats.forEach((st, j) => {
    if (!st) return;
    if (st.directory) {
      subdirectories.push({ name: names[j], seen: st });
    } else if (st.nlink > 1n) {
      const id = `${st.dev}:${st.ino}`;
      if (state.links.has(id)) return;
      state.links.add(id);
    }
    state.entries++;
    state.bytes += st.blocks * 512n;
  });
  for (const { name, seen } of subdirectories) {
    if (ctx.now() >= ctx.deadline) {
      state.complete = false;
      return false;
    }
    if (depth >= MAX_DEPTH) {
      state.complete = false;
      continue;
    }
    // Another file system mounted inside the volume is not the volume's usage.
    if (seen.dev !== top.stat.dev) continue;
    const child = await ctx.limiter.run(() => dir.openChild(name)).catch((error: NodeJS.ErrnoException) => {
      // Gone, or swapped for a link or a file since the lstat: never followed; skip it.
      if (error.code === 'ENOENT' || error.code === 'ELOOP' || error.code === 'ENOTDIR') return undefined;
      throw errorAt(error, dir.pathOf(name));
    });
    if (!child) continue;
    try {
      // Another directory swapped in since the lstat is skipped too: it was not what we counted.
      if (child.is(seen)) await walkDirectory(top, child, depth + 1, state, ctx);
    } finally {
      await child.close();
    }
  }
  return true;
}

/** lstat of each name of `dir`; undefined for an entry deleted while we looked (it no longer uses space). */
async function lstatAll(stats: LstatWorker, dir: PinnedDir, names: readonly Buffer[]): Promise<Array<EntryStat | undefined>> {
  const outcomes = await stats.lstat(names.map((name) => dir.at(name)));
  return outcomes.map((outcome, j) => {
    if (!isFailure(outcome)) return outcome;
    throw errorAt(Object.assign(new Error(outcome.message), { code: outcome.code, syscall: outcome.syscall }), dir.pathOf(names[j]));
  });
}

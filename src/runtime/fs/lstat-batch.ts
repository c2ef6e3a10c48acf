/**
 * `lstat` of many paths at once, in a worker thread making synchronous calls.
 *
 * The usage walk `lstat`s every entry of every volume. Through `fs.promises` each call is a
 * promise, a libuv thread-pool round trip and a BigIntStats object on the main thread:
 * about 35-39 us of CPU per entry here, against 8.5-9.6 us for `lstatSync`. Synchronous
 * calls on the main thread would stall the controller's event loop on a slow export, so
 * they run in one worker thread instead, a batch (one directory's names, at most a few
 * hundred) per message; the main thread only awaits the answer.
 *
 * The paths are the walk's own `/proc/self/fd/<fd>/<name>` paths (pinned-dir.ts): a worker
 * thread shares the process's descriptors, so the kernel resolves them to the same pinned
 * directory, and `lstat` never follows the last component. Nothing else changes about what
 * is looked at.
 */
import { Worker } from 'worker_threads';

/** What the usage walk reads from an entry's lstat. */
export interface EntryStat {
  readonly directory: boolean;
  readonly dev: bigint;
  readonly ino: bigint;
  readonly nlink: bigint;
  readonly blocks: bigint;
}

/** An lstat that failed for a reason other than the entry being gone. */
export interface LstatFailure {
  readonly code: string;
  readonly syscall: string;
  readonly message: string;
}

/** Per path: its stat, `undefined` when it does not exist (ENOENT), or the failure. */
export type LstatOutcome = EntryStat | undefined | LstatFailure;

export function isFailure(outcome: LstatOutcome): outcome is LstatFailure {
  return outcome !== undefined && 'code' in outcome;
}

/** Numbers per path in the answer: dev, ino, mode, nlink, blocks. */
const FIELDS = 5;
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;

/**
 * The worker's code, as source: the bundle is one file, so the worker is evaluated from a
 * string. Paths arrive as one buffer, NUL-separated (a path never holds a NUL byte).
 * Answers: per path 0 (stat in `numbers`), 1 (missing) or the error's code and message.
 */
const WORKER_SOURCE = `
const { parentPort } = require('worker_threads');
const fs = require('fs');
parentPort.on('message', ({ id, joined, count }) => {
  const bytes = Buffer.from(joined.buffer, joined.byteOffset, joined.byteLength);
  const numbers = new BigInt64Array(count * ${FIELDS});
  const outcomes = new Array(count);
  let start = 0;
  for (let i = 0; i < count; i++) {
    let end = bytes.indexOf(0, start);
    if (end < 0) end = bytes.length;
    const path = bytes.subarray(start, end);
    start = end + 1;
    try {
      const st = fs.lstatSync(path, { bigint: true, throwIfNoEntry: false });
      if (st === undefined) {
        outcomes[i] = 1;
        continue;
      }
      const at = i * ${FIELDS};
      numbers[at] = st.dev;
      numbers[at + 1] = st.ino;
      numbers[at + 2] = st.mode;
      numbers[at + 3] = st.nlink;
      numbers[at + 4] = st.blocks;
      outcomes[i] = 0;
    } catch (error) {
      outcomes[i] = { code: String(error.code || 'EIO'), syscall: String(error.syscall || 'lstat'), message: String(error.message) };
    }
  }
  parentPort.postMessage({ id, numbers, outcomes }, [numbers.buffer]);
});
`;

interface Pending {
  readonly resolve: (outcomes: LstatOutcome[]) => void;
  readonly reject: (error: Error) => void;
}

interface Answer {
  readonly id: number;
  readonly numbers: BigInt64Array;
  readonly outcomes: Array<0 | 1 | LstatFailure>;
}

/** One worker thread answering batches of lstats in the order they were asked. */
export class LstatWorker {
  private worker?: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  /** lstat of every path (no link followed); resolves with one outcome per path, in order. */
  lstat(paths: readonly Buffer[]): Promise<LstatOutcome[]> {
    if (paths.length === 0) return Promise.resolve([]);
    const worker = this.start();
    const id = this.nextId++;
    const joined = Buffer.concat(paths.flatMap((p, i) => (i === 0 ? [p] : [NUL, p])));
    return new Promise<LstatOutcome[]>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Only an outstanding batch keeps the process alive, never the idle worker.
      if (this.pending.size === 1) worker.ref();
      worker.postMessage({ id, joined, count: paths.length });
    });
  }

  /** Stops the worker; batches still waiting are rejected. A later `lstat` starts a new one. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.failAll(new Error('the lstat worker was stopped'));
    if (worker) await worker.terminate();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', (answer: Answer) => this.answered(answer));
    worker.on('error', (error) => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(error);
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.worker = undefined;
      this.failAll(new Error(`the lstat worker exited (code ${code})`));
    });
    this.worker = worker;
    return worker;
  }

  private answered({ id, numbers, outcomes }: Answer): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker?.unref();
    pending.resolve(outcomes.map((outcome, i) => {
      if (outcome === 1) return undefined;
      if (outcome !== 0) return outcome;
      const at = i * FIELDS;
      return {
        dev: numbers[at],
        ino: numbers[at + 1],
        // eslint-disable-next-line no-bitwise
        directory: (Number(numbers[at + 2]) & S_IFMT) === S_IFDIR,
        nlink: numbers[at + 3],
        blocks: numbers[at + 4],
      };
    }));
  }

  private failAll(error: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.reject(error);
  }
}

const NUL = Buffer.from([0]);

/**
 * Benchmark: the NFS controller's usage walk (src/runtime/nfs/usage.ts, on the tree walker
 * of src/runtime/fs/) over 1,000 volume directories holding 1,000,000 files in all, on a
 * tmpfs the benchmark mounts (every volume: 10 directories of 100 files, one of them
 * holding 1 to 16 KiB of data).
 *
 *  1. Full passes (no budget): wall time, CPU seconds (the whole process, libuv's file
 *     system threads included), entries per second; against a named baseline in the same
 *     run, `du -s` over every volume directory (one process, C, one call at a time). The
 *     bytes of every volume are compared with du's.
 *  2. Passes with a budget of 1/N of a full pass (`--cycle=N`, default 4), one after the
 *     other as the controller runs them: per pass, the volumes measured completely, cut
 *     short and not reached, and how many distinct volumes have been measured completely so
 *     far; then, per volume, the most passes it waited for a complete measurement (from
 *     the start, and between two of them), against the bound ceil(full pass / budget).
 *
 *     The budget is counted on a work clock (one tick per read of the meter's clock, which
 *     it reads per volume, directory and batch of names), so the machine's load does not
 *     change what a pass covers; `--wall-clock` counts it in ms of real time instead.
 *
 *   npx ts-node --project test/tsconfig.json bench/usage-walk.ts [--volumes=1000] [--files=1000000] [--runs=3] [--cycle=4] [--cycles=3] [--wall-clock]
 *
 * Needs root (mounts a tmpfs), `xargs`, `mkdir`, `touch` and `du`.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { UsageMeter, VolumeDirectory } from '../src/runtime/nfs/usage';

const DIRS_PER_VOLUME = 10;

function option(name: string, fallback: number): number {
  const given = process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  return given === undefined ? fallback : Number(given);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `volumes` directories v<i>, each of DIRS_PER_VOLUME directories sharing `files / volumes` files. */
function makeTree(root: string, volumes: number, files: number): VolumeDirectory[] {
  const perDir = Math.floor(files / volumes / DIRS_PER_VOLUME);
  // Many names per mkdir or touch: creating a million files one call at a time from node takes minutes.
  const awk = (body: string) => `awk 'BEGIN { for (v = 0; v < ${volumes}; v++) for (d = 0; d < ${DIRS_PER_VOLUME}; d++) ${body} }'`;
  execFileSync('sh', ['-c', `${awk('print "v" v "/d" d')} | xargs mkdir -p`], { cwd: root, stdio: 'inherit' });
  execFileSync('sh', ['-c', `${awk(`for (f = 0; f < ${perDir}; f++) print "v" v "/d" d "/f" f`)} | xargs touch`], { cwd: root, stdio: 'inherit' });
  for (let v = 0; v < volumes; v++) fs.writeFileSync(path.join(root, `v${v}`, 'd0', 'f0'), Buffer.alloc(((v % 16) + 1) * 1024, 7));
  return Array.from({ length: volumes }, (_, v) => ({ name: `pv-${v}`, relativePath: `v${v}` }));
}

interface Run {
  readonly wallMs: number;
  readonly cpuMs: number;
}

/** One pass without a budget on a fresh meter: its figures and every volume's bytes. */
async function fullPass(root: string, volumes: VolumeDirectory[]): Promise<Run & { entries: number; bytes: Map<string, bigint> }> {
  const meter = new UsageMeter(root, { budgetMs: Number.MAX_SAFE_INTEGER });
  const cpu = process.cpuUsage();
  const started = performance.now();
  const result = await meter.pass(volumes);
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  if (result.complete.length !== volumes.length) throw new Error(`a full pass measured ${result.complete.length} of ${volumes.length} volumes completely`);
  const bytes = new Map(volumes.map((v) => [v.name, meter.get(v.name)!.bytes]));
  const entries = volumes.reduce((sum, v) => sum + meter.get(v.name)!.entries, 0);
  return { wallMs, cpuMs: (used.user + used.system) / 1000, entries, bytes };
}

/** How many times a full pass reads the meter's clock (the work clock's length of a full pass). */
async function ticksOfFullPass(root: string, volumes: VolumeDirectory[]): Promise<number> {
  let ticks = 0;
  await new UsageMeter(root, { budgetMs: Number.MAX_SAFE_INTEGER, now: () => ticks++ }).pass(volumes);
  return ticks;
}

/** CPU time of this process's waited-for children so far (cutime + cstime), ms. */
function childrenCpuMs(): number {
  const fields = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[13]) + Number(fields[14]); // cutime, cstime: fields 16 and 17 of stat(5)
  return (ticks * 1000) / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
}

/** `du -s` over every volume directory in one process: its figures and every volume's bytes. */
function duPass(root: string, volumes: VolumeDirectory[]): Run & { bytes: Map<string, bigint> } {
  const cpu = childrenCpuMs();
  const started = performance.now();
  const out = execFileSync('du', ['-s', '-B1', '--', ...volumes.map((v) => v.relativePath)], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const wallMs = performance.now() - started;
  const cpuMs = childrenCpuMs() - cpu;
  const byPath = new Map(out.trim().split('\n').map((line) => {
    const [size, rel] = line.split('\t');
    return [rel, BigInt(size)];
  }));
  return { wallMs, cpuMs, bytes: new Map(volumes.map((v) => [v.name, byPath.get(v.relativePath)!])) };
}

interface PassRow {
  readonly complete: number;
  readonly partial: number;
  readonly notReached: number;
  readonly seconds: number;
  readonly covered: number;
}

/**
 * Passes with a budget, one after the other: the rows, and per volume the passes at which
 * it was measured completely.
 */
async function budgetedPasses(root: string, volumes: VolumeDirectory[], budgetMs: number, passes: number, now?: () => number) {
  const meter = new UsageMeter(root, { budgetMs, now });
  const completedAt = new Map<string, number[]>(volumes.map((v) => [v.name, []]));
  const rows: PassRow[] = [];
  for (let pass = 1; pass <= passes; pass++) {
    const result = await meter.pass(volumes);
    for (const name of result.complete) completedAt.get(name)!.push(pass);
    const covered = [...completedAt.values()].filter((at) => at.length > 0).length;
    rows.push({ complete: result.complete.length, partial: result.partial.length, notReached: result.notReached.length, seconds: result.seconds, covered });
  }
  return { rows, completedAt };
}

/** The most passes a volume waited for a complete measurement: from the start, and between two of them. */
function longestWaits(completedAt: Map<string, number[]>, passes: number) {
  let first = 0;
  let between = 0;
  let never = 0;
  for (const at of completedAt.values()) {
    if (at.length === 0) {
      never++;
      continue;
    }
    first = Math.max(first, at[0]);
    for (let i = 1; i < at.length; i++) between = Math.max(between, at[i] - at[i - 1]);
    // A volume still waiting at the end has waited at least this long (so starvation shows).
    between = Math.max(between, passes - at[at.length - 1]);
  }
  return { first, between, never };
}

async function main(): Promise<void> {
  const volumeCount = option('volumes', 1000);
  const files = option('files', 1_000_000);
  const runs = option('runs', 3);
  const cycle = option('cycle', 4);
  const cycles = option('cycles', 3);
  const wallClock = process.argv.includes('--wall-clock');

  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'usage-walk-'));
  const root = path.join(base, 'export');
  fs.mkdirSync(root);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=512m,nr_inodes=${files + volumeCount * (DIRS_PER_VOLUME + 1) + 1000}`, 'tmpfs', root]);
  try {
    const made = performance.now();
    const volumes = makeTree(root, volumeCount, files);
    console.log(`made ${volumeCount} volumes, ${files} files on tmpfs in ${((performance.now() - made) / 1000).toFixed(1)} s; ${os.cpus().length} CPUs`);

    // Interleaved, so a change in the machine's load weighs on both alike.
    const ours: Array<Awaited<ReturnType<typeof fullPass>>> = [];
    const du: Array<ReturnType<typeof duPass>> = [];
    for (let i = 0; i < runs; i++) {
      du.push(duPass(root, volumes));
      ours.push(await fullPass(root, volumes));
    }
    const differ = volumes.filter((v) => ours[0].bytes.get(v.name) !== du[0].bytes.get(v.name)).length;
    const entries = ours[0].entries;
    const row = (name: string, r: Run[]) => {
      const wall = median(r.map((x) => x.wallMs));
      const cpu = median(r.map((x) => x.cpuMs));
      console.log(`${name.padEnd(44)}${(wall / 1000).toFixed(2).padStart(9)}${(cpu / 1000).toFixed(2).padStart(9)}${Math.round(entries / (wall / 1000)).toLocaleString('en').padStart(14)}`);
      return { wall, cpu };
    };
    console.log(`\nFull pass over ${volumeCount} volumes, ${entries} entries (files and directories), median of ${runs}:\n`);
    console.log(`${''.padEnd(44)}${'wall (s)'.padStart(9)}${'CPU (s)'.padStart(9)}${'entries/s'.padStart(14)}`);
    const a = row('cdk8s-storage usage walk (UsageMeter.pass)', ours);
    const b = row('baseline: du -s over every volume', du);
    console.log(`${'ratio usage walk / du'.padEnd(44)}${`${(a.wall / b.wall).toFixed(2)}x`.padStart(9)}${`${(a.cpu / b.cpu).toFixed(2)}x`.padStart(9)}`);
    console.log(`bytes per volume equal to du's: ${volumeCount - differ} of ${volumeCount}`);

    // The budget is counted on a work clock by default: one tick per read of the meter's
    // clock (it reads it once per volume, directory, subdirectory and batch of names), so the
    // machine's load does not change how much of the tree a pass covers.
    const fullPassTicks = await ticksOfFullPass(root, volumes);
    const full = wallClock ? a.wall : fullPassTicks;
    const budget = Math.max(1, Math.ceil(full / cycle));
    const bound = Math.ceil(full / budget);
    const passes = bound * cycles;
    let ticks = 0;
    const now = wallClock ? undefined : () => ticks++;
    console.log(`\nPasses with a budget of ${budget} ${wallClock ? 'ms' : `clock reads (a full pass: ${fullPassTicks})`} (1/${cycle} of a full pass), ${passes} in a row:\n`);
    console.log(`${'pass'.padStart(4)}${'complete'.padStart(10)}${'cut short'.padStart(11)}${'not reached'.padStart(13)}${(wallClock ? 'seconds' : 'reads').padStart(9)}${'volumes measured so far'.padStart(25)}`);
    const { rows, completedAt } = await budgetedPasses(root, volumes, budget, passes, now);
    rows.forEach((r, i) => console.log(`${String(i + 1).padStart(4)}${String(r.complete).padStart(10)}${String(r.partial).padStart(11)}${String(r.notReached).padStart(13)}`
      + `${(wallClock ? r.seconds.toFixed(2) : String(Math.round(r.seconds * 1000))).padStart(9)}${`${r.covered} of ${volumeCount}`.padStart(25)}`));
    const waits = longestWaits(completedAt, passes);
    const fewest = Math.min(...rows.map((r) => r.complete));
    console.log(`\nbound: ceil(full pass / budget) = ${bound} passes; with the volumes cut short at the end of a pass walked again: `
      + `ceil(volumes / fewest complete in a pass) = ${Math.ceil(volumeCount / Math.max(fewest, 1))} passes`);
    console.log(`every volume measured completely by pass ${waits.first}${waits.never ? ` (${waits.never} never)` : ''}`);
    console.log(`longest wait of a volume between two complete measurements: ${waits.between} passes`);
  } finally {
    execFileSync('umount', [root]);
    fs.rmSync(base, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});

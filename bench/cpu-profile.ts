/**
 * Summarizes a V8 CPU profile (`node --cpu-prof` writes one `.cpuprofile` per process at exit):
 * the functions with the most self time, and self time by module (the npm package a function's
 * code came from, or our own source folder; in a bundle, the file the source map names).
 *
 *   npx ts-node --project test/tsconfig.json bench/cpu-profile.ts <file.cpuprofile> [--top=25] [--map=<bundle>.map]
 *
 * A bundle's functions all live in one file; with `--map` (default: `<script>.map` beside the
 * bundle when it exists) each function is placed by its source-map position.
 */
import * as fs from 'fs';
import * as path from 'path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: number[];
}

interface Profile {
  readonly nodes: ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: number[];
  readonly timeDeltas: number[];
}

/** Self time in microseconds per node id (each sample's delta goes to the node it sampled). */
export function selfTimes(profile: Profile): Map<number, number> {
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    // timeDeltas[i] is the time before sample i; the time after the last sample is unknown.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + Math.max(0, dt));
  }
  return self;
}

/** Source-map lookup of a generated (line, column) to its source file and 0-based line. */
class SourceMapFiles {
  /** For each generated line: ascending [column, source index, original line] triples. */
  private readonly lines: Array<Array<[number, number, number]>> = [];

  constructor(private readonly sources: string[], mappings: string) {
    // Source index and original line are relative to the previous segment across lines.
    let source = 0;
    let originalLine = 0;
    for (const line of mappings.split(';')) {
      let column = 0;
      const lineEntries: Array<[number, number, number]> = [];
      for (const segment of line.split(',')) {
        if (segment === '') continue;
        const fields = decodeVlq(segment);
        column += fields[0];
        if (fields.length >= 4) {
          source += fields[1];
          originalLine += fields[2];
          lineEntries.push([column, source, originalLine]);
        }
      }
      this.lines.push(lineEntries);
    }
  }

  /** The source file and 0-based line of a 0-based generated line and column, if mapped. */
  at(line: number, column: number): { file: string; line: number } | undefined {
    const entries = this.lines[line];
    if (!entries || entries.length === 0) return undefined;
    let lo = 0;
    let hi = entries.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (entries[mid][0] <= column) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    const [, source, originalLine] = entries[Math.max(found, 0)];
    return { file: this.sources[source], line: originalLine };
  }
}

const VLQ = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function decodeVlq(segment: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of segment) {
    const digit = VLQ.indexOf(ch);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      out.push(value & 1 ? -(value >> 1) : value >> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

const NODE_BUILTIN = 'node (built-in JS)';

/** A module name for a source path: `node_modules/<pkg>` -> the package, else our folder (`src/runtime/kube`). */
export function moduleOf(file: string): string {
  const nm = file.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const parts = file.slice(nm + 'node_modules/'.length).split('/');
    return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
  }
  if (file.startsWith('node:')) return NODE_BUILTIN;
  const src = file.indexOf('src/');
  if (src >= 0) return path.dirname(file.slice(src));
  return file || '(no script)';
}

/** Nodes without a script: the VM's own buckets. */
function builtinBucket(frame: CallFrame): string | undefined {
  if (frame.url !== '') return undefined;
  return `(${frame.functionName.replace(/^\(|\)$/g, '') || 'native'})`;
}

function main(): void {
  const file = process.argv[2];
  if (!file || file.startsWith('--')) {
    throw new Error('usage: bench/cpu-profile.ts <file.cpuprofile> [--top=25] [--map=<bundle>.map]');
  }
  const top = Number(process.argv.find((a) => a.startsWith('--top='))?.slice(6) ?? 25);
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const self = selfTimes(profile);
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));

  const maps = new Map<string, SourceMapFiles | undefined>();
  const explicitMap = process.argv.find((a) => a.startsWith('--map='))?.slice(6);
  const mapFor = (url: string): SourceMapFiles | undefined => {
    if (!maps.has(url)) {
      const script = url.replace(/^file:\/\//, '');
      const mapFile = explicitMap ?? `${script}.map`;
      let loaded: SourceMapFiles | undefined;
      if (script.endsWith('.js') && fs.existsSync(mapFile)) {
        const map = JSON.parse(fs.readFileSync(mapFile, 'utf8')) as { sources: string[]; mappings: string };
        loaded = new SourceMapFiles(map.sources, map.mappings);
      }
      maps.set(url, loaded);
    }
    return maps.get(url);
  };
  const placeOf = (frame: CallFrame): { file: string; line: number } => {
    const mapped = mapFor(frame.url)?.at(frame.lineNumber, frame.columnNumber);
    return mapped ?? { file: frame.url.replace(/^file:\/\//, ''), line: frame.lineNumber };
  };

  // Parent links, to charge node's own code to the nearest caller outside it.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const moduleOfNode = new Map<number, string>();
  const moduleOf_ = (id: number): string => {
    let m = moduleOfNode.get(id);
    if (m === undefined) {
      const frame = byId.get(id)!.callFrame;
      m = builtinBucket(frame) ?? moduleOf(placeOf(frame).file);
      moduleOfNode.set(id, m);
    }
    return m;
  };
  /** The module of the nearest frame that is not node's own JS nor a VM bucket (the code that asked for the work). */
  const callerModule = (id: number): string => {
    const own = moduleOf_(id);
    if (own === '(idle)' || own === '(garbage collector)' || own === '(program)') return own;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const m = moduleOf_(at);
      if (m !== NODE_BUILTIN && !m.startsWith('(')) return m;
    }
    return `${own} (no caller of ours)`;
  };

  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const functions = new Map<string, number>();
  const modules = new Map<string, number>();
  const callers = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us);
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    const bucket = builtinBucket(frame);
    const place = bucket ? undefined : placeOf(frame);
    add(modules, moduleOf_(id), us);
    add(callers, callerModule(id), us);
    add(functions, bucket ?? `${frame.functionName || '(anonymous)'}  ${place!.file.replace(/^.*node_modules\//, '')}:${place!.line + 1}`, us);
  }
  const idle = functions.get('(idle)') ?? 0;
  const busy = total - idle;
  const pct = (us: number) => `${((us / busy) * 100).toFixed(1).padStart(5)}%`;
  const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
  const rows = (m: Map<string, number>) => [...m].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]).slice(0, top);
  const out = [
    `${file}: ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s profiled, ${(busy / 1e6).toFixed(2)} s busy (idle ${(idle / 1e6).toFixed(1)} s); shares are of busy time`,
    '',
    'self time by module:',
    ...rows(modules).map(([k, v]) => `${ms(v)} ${pct(v)}  ${k}`),
    '',
    'self time by the module that asked for it (node\'s own JS and native calls charged to their nearest caller outside node):',
    ...rows(callers).map(([k, v]) => `${ms(v)} ${pct(v)}  ${k}`),
    '',
    `top ${top} functions by self time:`,
    ...rows(functions).map(([k, v]) => `${ms(v)} ${pct(v)}  ${k}`),
    '',
  ];
  process.stdout.write(out.join('\n'));
}

if (require.main === module) {
  main();
}

/**
 * What a V8 heap snapshot holds, grouped: self size and count by kind of object (objects by
 * constructor, arrays, strings, compiled code, ...), the largest groups first, and the
 * strings held most often (the same text in many copies: what interning would save).
 *
 *   npx ts-node --project test/tsconfig.json bench/heap-summary.ts <file.heapsnapshot> [--top=30] [--per=<N>]
 *
 * `--per=<N>` also prints each group's bytes per N-th (e.g. per volume, with the volume count).
 */
import * as fs from 'fs';

const file = process.argv[2];
if (!file) throw new Error('usage: heap-summary.ts <file.heapsnapshot> [--top=30] [--per=<N>]');
const option = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const TOP = Number(option('top') ?? 30);
const PER = option('per') ? Number(option('per')) : undefined;

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

const heap: Snapshot = JSON.parse(fs.readFileSync(file, 'utf8'));
const fields = heap.snapshot.meta.node_fields;
const types = heap.snapshot.meta.node_types[0];
const width = fields.length;
const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));

const groups = new Map<string, { count: number; bytes: number }>();
const strings = new Map<string, { count: number; bytes: number }>();
let total = 0;
for (let i = 0; i < heap.nodes.length; i += width) {
  const type = types[heap.nodes[i + typeAt]];
  const name = heap.strings[heap.nodes[i + nameAt]];
  const bytes = heap.nodes[i + sizeAt];
  total += bytes;
  const key = groupOf(type, name);
  const g = groups.get(key) ?? { count: 0, bytes: 0 };
  g.count++;
  g.bytes += bytes;
  groups.set(key, g);
  if (type === 'string') {
    const s = strings.get(name) ?? { count: 0, bytes: 0 };
    s.count++;
    s.bytes += bytes;
    strings.set(name, s);
  }
}

/** Objects by constructor; strings, code and V8's internals by their type alone. */
function groupOf(type: string, name: string): string {
  if (type === 'object') return `object ${name}`;
  if (type === 'closure') return 'closure';
  if (type === 'array') return `array ${name}`;
  if (type === 'hidden' || type === 'object shape') return `${type} ${name.replace(/\d+/g, '#').slice(0, 40)}`;
  return `(${type})`;
}

const mib = (n: number) => (n / 2 ** 20).toFixed(2);
const row = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(56) : c.padStart(12))).join('');
const out = [`${file}: ${mib(total)} MiB in ${(heap.nodes.length / width).toLocaleString('en-US')} objects`, ''];
out.push(row(['group', 'count', 'MiB', ...(PER ? [`B per ${PER}`] : [])]));
for (const [key, g] of [...groups].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, TOP)) {
  out.push(row([key.slice(0, 56), String(g.count), mib(g.bytes), ...(PER ? [(g.bytes / PER).toFixed(0)] : [])]));
}
out.push('', 'strings held in most copies (the same text, count, MiB):');
for (const [text, s] of [...strings].filter(([, s]) => s.count > 1).sort((a, b) => b[1].bytes - a[1].bytes).slice(0, 15)) {
  out.push(row([JSON.stringify(text.slice(0, 50)), String(s.count), mib(s.bytes)]));
}
process.stdout.write(`${out.join('\n')}\n`);

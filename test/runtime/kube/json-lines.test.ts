/**
 * The watch body splitter returns the same lines wherever the network cuts the body,
 * including inside a multi-byte character, and refuses a body that never ends a line.
 */
import { LineSplitter, MAX_LINE_BYTES } from '../../../src/runtime/kube/json-lines';

const EVENTS = [
  JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'données-é', annotations: { note: 'snow ☃ and 🚀' } } } }),
  JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '42' } } }),
  JSON.stringify({ type: 'DELETED', object: { metadata: { name: 'b' } } }),
];
const BODY = Buffer.from(`${EVENTS.join('\n')}\n`, 'utf8');

function splitAt(body: Buffer, cuts: number[]): string[] {
  const splitter = new LineSplitter();
  const lines: string[] = [];
  let start = 0;
  for (const cut of [...cuts, body.length]) {
    lines.push(...splitter.push(body.subarray(start, cut)));
    start = cut;
  }
  const rest = splitter.end();
  return rest ? [...lines, rest] : lines;
}

test('one chunk holding every event gives every line', () => {
  expect(splitAt(BODY, [])).toEqual(EVENTS);
});

test('a cut at any byte, inside a multi-byte character too, gives the same lines', () => {
  const multiByte = BODY.indexOf(Buffer.from('🚀', 'utf8'));
  expect(multiByte).toBeGreaterThan(0);
  for (let cut = 1; cut < BODY.length; cut++) {
    expect(splitAt(BODY, [cut])).toEqual(EVENTS);
  }
});

test('a body fed one byte at a time gives the same lines', () => {
  expect(splitAt(BODY, Array.from({ length: BODY.length - 1 }, (_, i) => i + 1))).toEqual(EVENTS);
});

test('an unterminated last line is returned by end(), blank lines are dropped', () => {
  const body = Buffer.from(`\n${EVENTS[0]}\n\n${EVENTS[1]}`, 'utf8');
  expect(splitAt(body, [5])).toEqual([EVENTS[0], EVENTS[1]]);
});

test('a line longer than the limit is refused with a message naming the limit', () => {
  const splitter = new LineSplitter();
  const chunk = Buffer.alloc(2 ** 20, 0x61);
  expect(() => {
    for (let i = 0; i <= MAX_LINE_BYTES / chunk.length; i++) splitter.push(chunk);
  }).toThrow(`longer than ${MAX_LINE_BYTES} bytes`);
});

/** The discovery trigger: mount table polling (inotify is covered by the agent tests on real mounts). */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DiscoveryTrigger } from '../../../src/runtime/local/watch';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'local-watch-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function firesWithin(ms: number, fired: string[]): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fired.length > 0) return true;
    await new Promise(r => setTimeout(r, 10));
  }
  return false;
}

function trigger(file: string, fired: string[]): DiscoveryTrigger {
  return new DiscoveryTrigger({ dirs: [], mountinfoPath: file, pollMs: 20, debounceMs: 5, onTrigger: why => fired.push(why) });
}

test('a change of the mount table fires, and an unchanged one does not', async () => {
  const file = path.join(tmp, 'mountinfo-1');
  fs.writeFileSync(file, 'A\n');
  const fired: string[] = [];
  const t = trigger(file, fired);
  await t.start();
  try {
    expect(await firesWithin(150, fired)).toBe(false);
    fs.writeFileSync(file, 'A\nB\n');
    expect(await firesWithin(1000, fired)).toBe(true);
    expect(fired).toEqual(['mountinfo']);
  } finally {
    t.stop();
  }
});

test('a mount a pass saw, gone again before the next poll, still fires (the poll compares with what the pass saw)', async () => {
  const file = path.join(tmp, 'mountinfo-2');
  fs.writeFileSync(file, 'A\n');
  const fired: string[] = [];
  const t = trigger(file, fired);
  await t.start();
  try {
    // A pass read the table while a volume was mounted (B) and published it; the volume is
    // unmounted before the poll ever saw B, so the file reads A again, as at the last poll.
    t.observed('A\nB\n');
    expect(await firesWithin(1000, fired)).toBe(true);
  } finally {
    t.stop();
  }
});

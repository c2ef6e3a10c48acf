/**
 * The --quota=none meter on a real tree: each volume's data directory is walked (what the
 * PV's path says is ignored: it names the export), links are not followed, and a volume
 * without its directory is reported failed, not zero.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DirectoryMeter } from '../../../src/runtime/nfs-server/directory-meter';
import { ServerLayout } from '../../../src/runtime/nfs-server/layout';

let root: string;
let layout: ServerLayout;

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'directory-meter-'));
  layout = new ServerLayout(root);
  fs.mkdirSync(layout.dataDirectory('pvc-a'), { recursive: true });
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const allocated = (...files: string[]) => files.reduce((sum, f) => sum + fs.lstatSync(f).blocks * 512, 0);

test('measures the data directory of each volume, as du counts it, without following links', async () => {
  const dir = layout.dataDirectory('pvc-a');
  fs.writeFileSync(path.join(dir, 'a.bin'), Buffer.alloc(100_000, 1));
  fs.mkdirSync(path.join(dir, 'sub'));
  fs.writeFileSync(path.join(dir, 'sub', 'b.bin'), Buffer.alloc(20_000, 2));
  // A link out of the volume counts as itself, never what it points at.
  const outside = path.join(root, 'outside.bin');
  fs.writeFileSync(outside, Buffer.alloc(1_000_000, 3));
  fs.symlinkSync(outside, path.join(dir, 'link'));
  // The record beside the data directory is not the volume's data.
  fs.writeFileSync(layout.record('pvc-a'), JSON.stringify({ padding: 'x'.repeat(50_000) }));

  const meter = new DirectoryMeter(layout, 10_000);
  const result = await meter.pass([{ name: 'pvc-a', relativePath: 'pvc-a' }]);
  expect(result.complete).toEqual(['pvc-a']);
  const expected = allocated(dir, path.join(dir, 'a.bin'), path.join(dir, 'sub'), path.join(dir, 'sub', 'b.bin'), path.join(dir, 'link'));
  expect(meter.get('pvc-a')).toMatchObject({ bytes: BigInt(expected), complete: true, entries: 5 });
});

test('a volume whose directory is gone is reported failed, not measured as empty', async () => {
  const meter = new DirectoryMeter(layout, 10_000);
  const result = await meter.pass([{ name: 'pvc-gone', relativePath: 'pvc-gone' }]);
  expect(result.failed.map((f) => f.name)).toEqual(['pvc-gone']);
  expect(meter.get('pvc-gone')).toBeUndefined();
});

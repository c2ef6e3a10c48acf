/**
 * Start-up recovery on a real tree (plain-directory volumes) where one volume cannot be
 * recovered: a grow that cannot be finished is given up at the recorded size and the start
 * goes on; a volume that cannot be made servable fails the start (the command exits and the
 * kubelet's restart retries), leaving its record and data as they were.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DirectoryBackend } from '../../../src/runtime/nfs-server/directory-backend';
import { ServerLayout } from '../../../src/runtime/nfs-server/layout';
import { VolumeManager } from '../../../src/runtime/nfs-server/volume-manager';
import type { VolumeRecord } from '../../../src/runtime/nfs-server/volume-record';

const MIB = 1024 * 1024;
let root: string;
let layout: ServerLayout;
let reports: { message: string; pv: unknown; level: string }[];

/** A plain-directory backend whose grow or attach fails for the volumes named. */
class FailingBackend extends DirectoryBackend {
  constructor(layout_: ServerLayout, private readonly failGrow: string[] = [], private readonly failAttach: string[] = []) {
    super(layout_);
  }

  async grow(record: VolumeRecord, sizeBytes: number): Promise<void> {
    if (this.failGrow.includes(record.pv)) throw new Error(`xfs_growfs: ${record.pv}: Input/output error`);
    return super.grow(record, sizeBytes);
  }

  async attach(record: VolumeRecord): Promise<void> {
    if (this.failAttach.includes(record.pv)) throw new Error(`mount: ${record.pv}: wrong fs type, bad superblock`);
    return super.attach(record);
  }
}

function manager(backend: DirectoryBackend): VolumeManager {
  return new VolumeManager({
    layout,
    backend,
    report: (message, fields, level = 'info') => reports.push({ message, pv: fields.pv, level }),
  });
}

const spec = { requestBytes: 50 * MIB, onDelete: 'DELETE' as const, uid: 0, gid: 0, mode: 0o777 };
const record = (pv: string): VolumeRecord => JSON.parse(fs.readFileSync(layout.record(pv), 'utf8'));
const served = (pv: string) => fs.existsSync(layout.exportFile(pv));
const noted = (pv: string) => fs.existsSync(layout.note(pv));

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'recovery-isolation-'));
  layout = new ServerLayout(root);
  for (const dir of layout.directories) fs.mkdirSync(dir, { recursive: true });
  reports = [];
  const first = manager(new DirectoryBackend(layout));
  await first.recover();
  await first.create('pvc-a', spec);
  await first.create('pvc-b', spec);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

test('a grow that cannot be finished does not stop the start: the volume is served at its recorded size', async () => {
  const failing = new FailingBackend(layout, ['pvc-a']);
  await expect(manager(failing).grow('pvc-a', 80 * MIB)).rejects.toThrow(/Input\/output error/);
  // The crash-safety note stays behind, as after a kill in the middle of the grow.
  expect(noted('pvc-a')).toBe(true);

  const restarted = manager(new FailingBackend(layout, ['pvc-a']));
  const steps = await restarted.recover();
  expect(steps.map((s) => `${s.kind} ${s.pv}`).sort()).toEqual(['finish-grow pvc-a', 'serve pvc-b']);
  expect(served('pvc-a')).toBe(true);
  expect(served('pvc-b')).toBe(true);
  expect(record('pvc-a').sizeBytes).toBe(50 * MIB);
  expect(noted('pvc-a')).toBe(false);
  expect(reports).toContainEqual({ message: 'recovery: could not finish a grow; served at its recorded size', pv: 'pvc-a', level: 'error' });
  // The claim's next resize attempt grows it once the backend can.
  expect((await manager(new DirectoryBackend(layout)).grow('pvc-a', 80 * MIB)).sizeBytes).toBe(80 * MIB);
});

test('a volume that cannot be made servable fails the start, leaving its record and data for the next one', async () => {
  fs.rmSync(layout.exportFile('pvc-a'));
  await expect(manager(new FailingBackend(layout, [], ['pvc-a'])).recover()).rejects.toThrow(/bad superblock/);
  expect(served('pvc-a')).toBe(false);
  expect(fs.existsSync(layout.dataDirectory('pvc-a'))).toBe(true);
  expect(record('pvc-a').sizeBytes).toBe(50 * MIB);
  // The next start, with the backend working again, serves both.
  await manager(new DirectoryBackend(layout)).recover();
  expect(served('pvc-a')).toBe(true);
  expect(served('pvc-b')).toBe(true);
});

test('a grow that can be neither finished nor served fails the start; the next start finishes it', async () => {
  await expect(manager(new FailingBackend(layout, ['pvc-a'])).grow('pvc-a', 80 * MIB)).rejects.toThrow();
  await expect(manager(new FailingBackend(layout, ['pvc-a'], ['pvc-a'])).recover()).rejects.toThrow(/bad superblock/);
  expect(noted('pvc-a')).toBe(true);
  await manager(new DirectoryBackend(layout)).recover();
  expect(record('pvc-a').sizeBytes).toBe(80 * MIB);
  expect(noted('pvc-a')).toBe(false);
  expect(served('pvc-a')).toBe(true);
});

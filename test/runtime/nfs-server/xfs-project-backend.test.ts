/**
 * The volume manager over the xfs-project backend, on a real directory tree: every step
 * but the quota calls is real (directories, records, journal notes, export files, onDelete
 * moves). This kernel has no XFS quota support, so xfs_quota cannot run here: the command
 * runner records each xfs_quota call (and fails one on request, as a crash point) and the
 * mount table says the data directory is XFS mounted with prjquota. What is checked is
 * which commands run, in which order, with which project ids, and what recovery runs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { MountTable } from '../../../src/runtime/local/mountinfo';
import { ServerLayout } from '../../../src/runtime/nfs-server/layout';
import { VolumeManager } from '../../../src/runtime/nfs-server/volume-manager';
import { XfsProjectBackend } from '../../../src/runtime/nfs-server/xfs-project-backend';

const MIB = 1024 * 1024;
let root: string;
let layout: ServerLayout;
let calls: string[];
let failOn: string | undefined;

const run = async (file: string, args: string[]): Promise<string> => {
  if (file !== 'xfs_quota') throw new Error(`unexpected program ${file}`);
  expect(args[0]).toBe('-x');
  expect(args[1]).toBe('-c');
  expect(args[3]).toBe(root);
  if (failOn && args[2].startsWith(failOn)) throw new Error(`xfs_quota ${args.join(' ')}: failed (a crash here)`);
  calls.push(args[2]);
  return '';
};

function manager(): VolumeManager {
  const mounts = async () => new MountTable([{ mountId: 40, parentId: 1, devno: '8:16', root: '/', mountPoint: root, fsType: 'xfs', source: '/dev/sdb', superOptions: 'rw,attr2,inode64,prjquota' }]);
  return new VolumeManager({ layout, backend: new XfsProjectBackend(layout, run, mounts) });
}

const spec = (onDelete: 'DELETE' | 'ARCHIVE' | 'RETAIN') => ({ requestBytes: 300 * MIB, onDelete, uid: 0, gid: 0, mode: 0o2775 });
const data = (pv: string) => layout.dataDirectory(pv);

beforeEach(() => {
  root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'xfs-project-')));
  layout = new ServerLayout(root);
  calls = [];
  failOn = undefined;
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

test('create: a directory of its own, project id in the record, the directory joins the project, the limit is the size exactly', async () => {
  const volumes = manager();
  await volumes.recover();
  const a = await volumes.create('pvc-a', spec('DELETE'));
  const b = await volumes.create('pvc-b', spec('DELETE'));
  expect(a).toMatchObject({ pv: 'pvc-a', sizeBytes: 300 * MIB, projectId: 1, exportId: 1 });
  expect(b).toMatchObject({ projectId: 2, exportId: 2 });
  expect(calls).toEqual([
    `project -s -p ${data('pvc-a')} 1`, `limit -p bhard=${300 * MIB} 1`,
    `project -s -p ${data('pvc-b')} 2`, `limit -p bhard=${300 * MIB} 2`,
  ]);
  expect(fs.statSync(data('pvc-a')).mode % 0o10000).toBe(0o2775);
  expect(JSON.parse(fs.readFileSync(layout.record('pvc-a'), 'utf8')).projectId).toBe(1);
  expect(fs.readFileSync(layout.exportFile('pvc-a'), 'utf8')).toContain(`Path = ${data('pvc-a')};`);
  // A claim asks for its own size: nothing is added for a filesystem of its own.
  expect(volumes.requestForClaim(300 * MIB)).toBe(300 * MIB);
});

test('grow sets the new limit and records it; a repeated or smaller request does nothing', async () => {
  const volumes = manager();
  await volumes.recover();
  await volumes.create('pvc-a', spec('DELETE'));
  calls = [];
  expect((await volumes.grow('pvc-a', 600 * MIB)).sizeBytes).toBe(600 * MIB);
  await volumes.grow('pvc-a', 600 * MIB);
  await volumes.grow('pvc-a', 400 * MIB);
  expect(calls).toEqual([`limit -p bhard=${600 * MIB} 1`]);
  expect((await volumes.get('pvc-a'))?.sizeBytes).toBe(600 * MIB);
});

test('onDelete: DELETE clears the limit and removes the data; ARCHIVE and RETAIN take the kept tree out of the project first', async () => {
  const volumes = manager();
  await volumes.recover();
  for (const [pv, onDelete] of [['pvc-d', 'DELETE'], ['pvc-a', 'ARCHIVE'], ['pvc-r', 'RETAIN']] as const) {
    await volumes.create(pv, spec(onDelete));
    fs.writeFileSync(path.join(data(pv), 'kept'), 'x');
  }
  calls = [];
  for (const pv of ['pvc-d', 'pvc-a', 'pvc-r']) expect(await volumes.remove(pv)).toBe('removed');
  expect(calls).toEqual([
    'limit -p bhard=0 1',
    `project -C -p ${data('pvc-a')} 2`, 'limit -p bhard=0 2',
    `project -C -p ${data('pvc-r')} 3`, 'limit -p bhard=0 3',
  ]);
  const archived = fs.readdirSync(layout.archivedDir);
  expect(archived.filter((n) => n.startsWith('pvc-d'))).toEqual([]);
  const kept = archived.filter((n) => /^pvc-a-[^.]+$/.test(n));
  expect(kept).toHaveLength(1);
  expect(fs.readFileSync(path.join(layout.archivedDir, kept[0], 'kept'), 'utf8')).toBe('x');
  const retained = archived.filter((n) => n.startsWith('pvc-r-retained-'));
  expect(fs.readdirSync(path.join(layout.archivedDir, retained[0])).sort()).toEqual(['data', 'volume.json']);
  expect(fs.readdirSync(layout.volumesDir)).toEqual([]);
});

test('a create cut short after its project was set is undone at the next start: limit cleared, directory gone, its id free again', async () => {
  let volumes = manager();
  await volumes.recover();
  await volumes.create('pvc-a', spec('DELETE'));
  failOn = 'limit';
  await expect(volumes.create('pvc-b', spec('DELETE'))).rejects.toThrow(/creating volume pvc-b: xfs_quota .*a crash here/);
  expect(calls).toContain(`project -s -p ${data('pvc-b')} 2`);
  failOn = undefined;
  calls = [];

  volumes = manager(); // the next start
  const steps = await volumes.recover();
  expect(steps).toEqual([{ kind: 'serve', pv: 'pvc-a', record: expect.objectContaining({ projectId: 1 }) }, { kind: 'undo-create', pv: 'pvc-b' }]);
  // Serving re-applies the recorded limit; the undo clears the half-made volume's.
  expect(calls).toEqual([`limit -p bhard=${300 * MIB} 1`, 'limit -p bhard=0 2']);
  expect(fs.existsSync(layout.volumeDir('pvc-b'))).toBe(false);
  expect(fs.readdirSync(layout.journalDir)).toEqual([]);
  // Id 1 is live (never handed out again while pvc-a lives); 2 was freed with the undo.
  expect((await volumes.create('pvc-c', spec('DELETE'))).projectId).toBe(2);
});

test('a grow cut short is finished at the next start: the noted limit is set and recorded', async () => {
  let volumes = manager();
  await volumes.recover();
  await volumes.create('pvc-a', spec('DELETE'));
  failOn = 'limit';
  await expect(volumes.grow('pvc-a', 500 * MIB)).rejects.toThrow(/a crash here/);
  failOn = undefined;
  calls = [];
  volumes = manager();
  expect(await volumes.recover()).toEqual([expect.objectContaining({ kind: 'finish-grow', pv: 'pvc-a', sizeBytes: 500 * MIB })]);
  expect(calls).toEqual([`limit -p bhard=${300 * MIB} 1`, `limit -p bhard=${500 * MIB} 1`]);
  expect((await volumes.get('pvc-a'))?.sizeBytes).toBe(500 * MIB);
});

test('a removal cut short is finished at the next start with the recorded onDelete', async () => {
  let volumes = manager();
  await volumes.recover();
  await volumes.create('pvc-a', spec('ARCHIVE'));
  failOn = 'limit';
  await expect(volumes.remove('pvc-a')).rejects.toThrow(/a crash here/);
  failOn = undefined;
  calls = [];
  volumes = manager();
  expect(await volumes.recover()).toEqual([expect.objectContaining({ kind: 'finish-remove', pv: 'pvc-a' })]);
  expect(calls).toEqual([`project -C -p ${data('pvc-a')} 1`, 'limit -p bhard=0 1']);
  expect(fs.readdirSync(layout.archivedDir).filter((n) => n.startsWith('pvc-a-'))).toHaveLength(1);
});

test('the start refuses a data directory that is not on XFS with prjquota, before anything is made', async () => {
  const volumes = new VolumeManager({ layout, backend: new XfsProjectBackend(layout, run, async () => new MountTable([{ mountId: 1, parentId: 0, devno: '8:1', root: '/', mountPoint: '/', fsType: 'ext4', source: '/dev/vda', superOptions: 'rw' }])) });
  await expect(volumes.recover()).rejects.toThrow(/it is on ext4 \/dev\/vda mounted at \/ with rw: mount the backing volume with prjquota .*or use quota: NfsQuota\.LOOP_IMAGE/);
  expect(calls).toEqual([]);
});

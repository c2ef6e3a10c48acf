/**
 * The crash burst's audit (test/e2e/nfs-server/volume-audit.ts) passes only the end state it
 * names: each kind of leak or duplicate a crash could leave is reported, by name.
 */
import type { VolumeRecord } from '../../../src/runtime/nfs-server/volume-record';
import { auditProblems, LiveClaim, ServerPv, VolumeAudit } from '../../e2e/nfs-server/volume-audit';

const DATA = '/srv/data';
const MIB = 1024 * 1024;
const record = (pv: string, exportId: number): VolumeRecord => ({
  pv, sizeBytes: 300 * MIB, exportId, filesystemId: `${exportId}.${exportId}`, onDelete: 'DELETE', uid: 0, gid: 0, mode: 0o777,
});
const claim: LiveClaim = { name: 'a', uid: 'u1', phase: 'Bound', volumeName: 'pvc-u1', minImageBytes: 300 * MIB, expectedSize: '100Mi', requested: '100Mi', capacity: '100Mi' };
const pv: ServerPv = { name: 'pvc-u1', claimUid: 'u1', capacity: '100Mi' };

/** One live volume served as it should be, and one deleted claim (u2) of which nothing is left. */
function clean(): VolumeAudit {
  return {
    volumes: new Map([['pvc-u1', { record: record('pvc-u1', 1), imageBytes: 300 * MIB }]]),
    mountpoints: ['pvc-u1'],
    exportFiles: ['pvc-u1'],
    notes: new Map(),
    archived: [],
    staging: [],
    mounts: [{ pv: 'pvc-u1', source: '/dev/loop3' }],
    loops: [{ name: '/dev/loop3', backFile: `${DATA}/volumes/pvc-u1/image` }],
    servedExportIds: [1],
  };
}

const audit = (state: VolumeAudit, pvs: ServerPv[] = [pv], live: LiveClaim[] = [claim]) => auditProblems(state, live, ['u2'], pvs, DATA);

test('the expected end state has no problems', () => {
  expect(audit(clean())).toEqual([]);
});

test('a claim not Bound, a second PV for a claim, or a PV of no claim is reported', () => {
  expect(audit(clean(), [pv], [{ ...claim, phase: 'Pending', volumeName: undefined }])).toEqual([expect.stringContaining('claim a is Pending on no volume')]);
  expect(audit(clean(), [pv, { name: 'pvc-other', claimUid: 'u1', capacity: '100Mi' }]))
    .toEqual([expect.stringContaining('has PVs [pvc-u1, pvc-other]'), 'PV pvc-other belongs to no claim of the burst']);
});

test('a size that the claim, its status and its PV do not all agree on is reported', () => {
  expect(audit(clean(), [pv], [{ ...claim, expectedSize: '300Mi', requested: '300Mi' }])).toEqual([expect.stringContaining('asks 300Mi, has 100Mi, its PV 100Mi; expected 300Mi')]);
});

test('a second mount or loop device, or a mount from another device, is reported', () => {
  expect(audit({ ...clean(), mounts: [{ pv: 'pvc-u1', source: '/dev/loop3' }, { pv: 'pvc-u1', source: '/dev/loop4' }] }))
    .toEqual(['claim a: 2 mounts on mounts/pvc-u1, expected 1']);
  expect(audit({ ...clean(), loops: [...clean().loops, { name: '/dev/loop4', backFile: `${DATA}/volumes/pvc-u1/image` }] }))
    .toEqual(['claim a: 2 loop devices backed by its image, expected 1']);
  expect(audit({ ...clean(), mounts: [{ pv: 'pvc-u1', source: '/dev/loop9' }] })).toEqual(['claim a: mounted from /dev/loop9, but its image is on /dev/loop3']);
});

test('an export ganesha does not serve, or one it serves for nobody, is reported', () => {
  expect(audit({ ...clean(), servedExportIds: [] })).toEqual(['claim a: ganesha does not serve export 1 of pvc-u1', 'ganesha serves exports [], the live claims\' are [1]']);
  expect(audit({ ...clean(), servedExportIds: [1, 2] })).toEqual(['ganesha serves exports [1, 2], the live claims\' are [1]']);
});

test('anything left of a deleted claim is reported, each part by name', () => {
  const left = clean();
  const state: VolumeAudit = {
    ...left,
    volumes: new Map([...left.volumes, ['pvc-u2', { imageBytes: 300 * MIB }]]),
    mountpoints: [...left.mountpoints, 'pvc-u2'],
    exportFiles: [...left.exportFiles, 'pvc-u2'],
    loops: [...left.loops, { name: '/dev/loop5', backFile: `${DATA}/volumes/pvc-u2/image (deleted)` }],
    archived: ['pvc-u2-2026-01-01.img'],
    notes: new Map([['pvc-u2', { op: 'remove' }]]),
  };
  expect(audit(state, [pv, { name: 'pvc-u2', claimUid: 'u2' }])).toEqual([
    'deleted claim u2: PV, volume folder, mountpoint, export file, loop device, archived image (onDelete is DELETE), journal note left',
    'loop device /dev/loop5 is backed by /srv/data/volumes/pvc-u2/image (deleted), no live claim\'s image',
    'journal not empty: remove pvc-u2',
    'archived/ holds pvc-u2-2026-01-01.img (every class here deletes)',
  ]);
});

test('an orphan volume, export file or loop device of no claim is reported', () => {
  const state: VolumeAudit = {
    ...clean(),
    volumes: new Map([...clean().volumes, ['pvc-x', { imageBytes: 300 * MIB }]]),
    exportFiles: ['pvc-u1', 'pvc-x'],
    loops: [...clean().loops, { name: '/dev/loop6', backFile: `${DATA}/volumes/pvc-x/image` }],
    staging: ['volume.json.abc'],
  };
  expect(audit(state)).toEqual([
    'volume folder pvc-x belongs to no claim of the burst',
    'export file pvc-x.conf belongs to no claim of the burst',
    'loop device /dev/loop6 is backed by /srv/data/volumes/pvc-x/image, no live claim\'s image',
    'staging not empty: volume.json.abc',
  ]);
});

test('an image under its request or unlike its record, and duplicate export ids, are reported', () => {
  const b: LiveClaim = { ...claim, name: 'b', uid: 'u3', volumeName: 'pvc-u3' };
  const state: VolumeAudit = {
    ...clean(),
    volumes: new Map([['pvc-u1', { record: record('pvc-u1', 1), imageBytes: 200 * MIB }], ['pvc-u3', { record: record('pvc-u3', 1), imageBytes: 300 * MIB }]]),
    mountpoints: ['pvc-u1', 'pvc-u3'],
    exportFiles: ['pvc-u1', 'pvc-u3'],
    mounts: [{ pv: 'pvc-u1', source: '/dev/loop3' }, { pv: 'pvc-u3', source: '/dev/loop4' }],
    loops: [{ name: '/dev/loop3', backFile: `${DATA}/volumes/pvc-u1/image` }, { name: '/dev/loop4', backFile: `${DATA}/volumes/pvc-u3/image` }],
    servedExportIds: [1],
  };
  expect(audit(state, [pv, { name: 'pvc-u3', claimUid: 'u3', capacity: '100Mi' }], [claim, b])).toEqual([
    `claim a: image of pvc-u1 is ${200 * MIB} bytes, its record says ${300 * MIB}`,
    `claim a: image of pvc-u1 is ${200 * MIB} bytes, under the ${300 * MIB} its request needs`,
    'export ids are not unique: 1, 1',
    'ganesha serves exports [1], the live claims\' are [1, 1]',
  ]);
});

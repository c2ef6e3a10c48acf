import { liveExportIds, liveRecords, ObservedVolume, planRecovery } from '../../../src/runtime/nfs-server/recovery';
import type { VolumeRecord } from '../../../src/runtime/nfs-server/volume-record';

const record = (pv: string, exportId: number): VolumeRecord => ({
  pv, sizeBytes: 300 * 1024 * 1024, exportId, filesystemId: `${exportId}.${exportId}`, onDelete: 'DELETE', uid: 0, gid: 0, mode: 0o777,
});
const nothing = { volumeDir: false, data: false, mounted: false, mountpoint: false, exportFile: false };
const served = { volumeDir: true, data: true, mounted: true, mountpoint: true, exportFile: true };

function observed(pv: string, parts: Partial<ObservedVolume>): ObservedVolume {
  return { pv, ...nothing, ...parts };
}

test('a create note is undone, whatever it had made', () => {
  for (const parts of [nothing, served, { ...nothing, volumeDir: true, data: true }]) {
    expect(planRecovery([observed('pvc-a', { ...parts, note: { op: 'create', record: record('pvc-a', 3) } })]))
      .toEqual([{ kind: 'undo-create', pv: 'pvc-a' }]);
  }
});

test('a remove note is finished with the record when it is still there, and without it (archive) when not', () => {
  const r = record('pvc-a', 3);
  expect(planRecovery([observed('pvc-a', { ...served, note: { op: 'remove' }, record: r })])).toEqual([{ kind: 'finish-remove', pv: 'pvc-a', record: r }]);
  expect(planRecovery([observed('pvc-a', { note: { op: 'remove' } })])).toEqual([{ kind: 'finish-remove', pv: 'pvc-a', record: undefined }]);
});

test('a grow note is finished to the larger of the noted and recorded sizes', () => {
  const r = record('pvc-a', 3);
  expect(planRecovery([observed('pvc-a', { ...served, mounted: false, note: { op: 'grow', sizeBytes: 400 * 1024 * 1024 }, record: r })]))
    .toEqual([{ kind: 'finish-grow', pv: 'pvc-a', record: r, sizeBytes: 400 * 1024 * 1024 }]);
  // The record was rewritten but the note not yet cleared.
  const grown = { ...r, sizeBytes: 500 * 1024 * 1024 };
  expect(planRecovery([observed('pvc-a', { ...served, note: { op: 'grow', sizeBytes: 400 * 1024 * 1024 }, record: grown })]))
    .toEqual([{ kind: 'finish-grow', pv: 'pvc-a', record: grown, sizeBytes: 500 * 1024 * 1024 }]);
});

test('a recorded volume is served; one whose data (image or directory) is gone is reported, not served', () => {
  const r = record('pvc-a', 3);
  expect(planRecovery([observed('pvc-a', { ...served, mounted: false, exportFile: false, record: r })])).toEqual([{ kind: 'serve', pv: 'pvc-a', record: r }]);
  expect(planRecovery([observed('pvc-a', { volumeDir: true, record: r })])).toEqual([{ kind: 'report-missing-data', pv: 'pvc-a', record: r }]);
});

test('parts with neither record nor note are cleared; a name with nothing left needs nothing', () => {
  expect(planRecovery([observed('pvc-a', { mounted: true, mountpoint: true })])).toEqual([{ kind: 'clear-orphan', pv: 'pvc-a' }]);
  expect(planRecovery([observed('pvc-b', { exportFile: true })])).toEqual([{ kind: 'clear-orphan', pv: 'pvc-b' }]);
  expect(planRecovery([observed('pvc-c', {})])).toEqual([]);
});

test('steps come in name order, one per volume', () => {
  const steps = planRecovery([observed('pvc-b', { ...served, record: record('pvc-b', 2) }), observed('pvc-a', { ...served, record: record('pvc-a', 1) })]);
  expect(steps.map((s) => s.pv)).toEqual(['pvc-a', 'pvc-b']);
});

test('live export ids are those of records and of creates in progress', () => {
  expect(liveExportIds([
    observed('pvc-a', { record: record('pvc-a', 1) }),
    observed('pvc-b', { note: { op: 'create', record: record('pvc-b', 7) } }),
    observed('pvc-c', { note: { op: 'remove' } }),
  ])).toEqual([1, 7]);
});

test('live records (what holds export and project ids) are the records and the creates in progress', () => {
  const a = { ...record('pvc-a', 1), projectId: 4 };
  const b = { ...record('pvc-b', 7), projectId: 9 };
  expect(liveRecords([
    observed('pvc-a', { record: a }),
    observed('pvc-b', { note: { op: 'create', record: b } }),
    observed('pvc-c', { note: { op: 'remove' } }),
  ]).map((r) => r.projectId)).toEqual([4, 9]);
});

import { exportBlock, mainConfig, pseudoPathOf } from '../../../src/runtime/nfs-server/ganesha-config';
import { growTarget, imageSizeFor, MIB, MIN_IMAGE_BYTES } from '../../../src/runtime/nfs-server/sizes';
import { filesystemIdFor, MAX_EXPORT_ID, nextExportId } from '../../../src/runtime/nfs-server/volume-record';

describe('nextExportId', () => {
  test('is one above the highest live id, so a just-freed id is not handed out again at once', () => {
    expect(nextExportId([])).toBe(1);
    expect(nextExportId([1, 2, 5])).toBe(6);
  });

  test('takes the lowest free id once the highest is taken, and fails when none is free', () => {
    expect(nextExportId([MAX_EXPORT_ID, 1, 2])).toBe(3);
    const all = Array.from({ length: MAX_EXPORT_ID }, (_, i) => i + 1);
    expect(() => nextExportId(all)).toThrow(/every export id \(1-65535\) is in use/);
  });

  test('the filesystem id follows the export id, so it is unique among live volumes too', () => {
    expect(filesystemIdFor(42)).toBe('42.42');
  });
});

describe('image sizes', () => {
  test('are whole MiB and at least the XFS minimum', () => {
    expect(imageSizeFor(1)).toBe(MIN_IMAGE_BYTES);
    expect(imageSizeFor(1024 * MIB)).toBe(1024 * MIB);
    expect(imageSizeFor(1024 * MIB + 1)).toBe(1025 * MIB);
  });

  test('a grow happens only past the current size', () => {
    expect(growTarget(MIN_IMAGE_BYTES, 100 * MIB)).toBeUndefined();
    expect(growTarget(500 * MIB, 500 * MIB)).toBeUndefined();
    expect(growTarget(500 * MIB, 400 * MIB)).toBeUndefined();
    expect(growTarget(500 * MIB, 600 * MIB)).toBe(600 * MIB);
  });
});

describe('ganesha configuration', () => {
  test('an export block names the volume\'s id, mountpoint, pseudo path and fixed filesystem id', () => {
    const text = exportBlock({ pv: 'pvc-1', sizeBytes: MIN_IMAGE_BYTES, exportId: 9, filesystemId: '9.9', onDelete: 'DELETE', uid: 0, gid: 0, mode: 0o777 }, '/data/mounts/pvc-1');
    expect(text).toContain('Export_Id = 9;');
    expect(text).toContain('Path = /data/mounts/pvc-1;');
    expect(text).toContain('Pseudo = /pvc-1;');
    expect(text).toContain('Filesystem_id = 9.9;');
    expect(pseudoPathOf('pvc-1')).toBe('/pvc-1');
  });

  test('the main file serves NFSv4 only, keeps recovery state where asked and includes the exports folder', () => {
    const text = mainConfig({ exportsDir: '/data/exports.d', recoveryDir: '/data/ganesha/recovery', leaseSeconds: 15, graceSeconds: 20 });
    expect(text).toMatch(/Protocols = 4;/);
    expect(text).toMatch(/NFS_Port = 2049;/);
    expect(text).toMatch(/RecoveryRoot = \/data\/ganesha\/recovery;/);
    expect(text).toMatch(/Grace_Period = 20;/);
    expect(text).toMatch(/^%dir \/data\/exports\.d$/m);
  });
});

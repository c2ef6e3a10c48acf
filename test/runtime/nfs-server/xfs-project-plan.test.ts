/**
 * The decisions of --quota=xfs-project, without a quota-capable kernel (this one has no XFS
 * quota support): project ids, the exact xfs_quota commands, and the preflight's verdict on
 * mount table entries.
 */
import type { MountEntry } from '../../../src/runtime/local/mountinfo';
import {
  checkProjectQuotaMount, clearProject, createCommands, growCommands, MAX_PROJECT_ID, nextProjectId, releaseCommands, setLimit, setProject,
} from '../../../src/runtime/nfs-server/xfs-project-plan';

const FS = '/data';
const DIR = '/data/volumes/pvc-a/data';

describe('project ids', () => {
  test('one above the highest live id, so a just-freed id is not handed out again at once', () => {
    expect(nextProjectId([])).toBe(1);
    expect(nextProjectId([1, 2, 3])).toBe(4);
    // 2 was freed: the next volume still gets 4, not 2.
    expect(nextProjectId([1, 3])).toBe(4);
    // Records without a project id (made in another mode) hold none.
    expect(nextProjectId([undefined, 5])).toBe(6);
  });

  test('past the maximum, the lowest id no live volume holds; never 0 (every file\'s default project)', () => {
    expect(nextProjectId([MAX_PROJECT_ID])).toBe(1);
    expect(nextProjectId([1, 2, MAX_PROJECT_ID])).toBe(3);
  });
});

describe('xfs_quota commands', () => {
  test('create: the directory joins its project (with inheritance), then the project gets the size as its hard limit', () => {
    expect(createCommands(FS, DIR, 7, 300 * 1024 * 1024)).toEqual([
      ['-x', '-c', `project -s -p ${DIR} 7`, FS],
      ['-x', '-c', 'limit -p bhard=314572800 7', FS],
    ]);
  });

  test('grow: a new hard limit and nothing else', () => {
    expect(growCommands(FS, 7, 600 * 1024 * 1024)).toEqual([['-x', '-c', 'limit -p bhard=629145600 7', FS]]);
  });

  test('release for DELETE (and for undoing a create cut short at any step): the limit is cleared', () => {
    expect(releaseCommands(FS, DIR, 7, false)).toEqual([setLimit(FS, 7, 0)]);
    // A create cut short before its directory existed: clearing the limit repeats safely.
    expect(releaseCommands(FS, undefined, 7, false)).toEqual([['-x', '-c', 'limit -p bhard=0 7', FS]]);
  });

  test('release for ARCHIVE and RETAIN: the kept tree leaves the project, then the limit is cleared, so the id starts empty when reused', () => {
    expect(releaseCommands(FS, DIR, 7, true)).toEqual([
      ['-x', '-c', `project -C -p ${DIR} 7`, FS],
      ['-x', '-c', 'limit -p bhard=0 7', FS],
    ]);
    expect(clearProject(FS, DIR, 7)).toEqual(['-x', '-c', `project -C -p ${DIR} 7`, FS]);
    expect(setProject(FS, DIR, 7)).toEqual(['-x', '-c', `project -s -p ${DIR} 7`, FS]);
  });
});

describe('preflight: the backing filesystem as mountinfo reports it', () => {
  const mount = (fsType: string, superOptions: string, mountPoint = '/data'): MountEntry => ({
    mountId: 40, parentId: 1, devno: '8:16', root: '/', mountPoint, fsType, source: '/dev/sdb', superOptions,
  });

  test('XFS with project quota enforced passes, and names the filesystem xfs_quota runs on', () => {
    expect(checkProjectQuotaMount('/data/server', mount('xfs', 'rw,attr2,inode64,logbufs=8,logbsize=32k,prjquota'))).toEqual({ filesystem: '/data' });
    expect(checkProjectQuotaMount('/data', mount('xfs', 'rw,pquota'))).toEqual({ filesystem: '/data' });
  });

  test('XFS without project quota is refused, naming what was found and both fixes', () => {
    const refuse = () => checkProjectQuotaMount('/data', mount('xfs', 'rw,relatime,attr2,inode64,noquota'));
    expect(refuse).toThrow('--quota=xfs-project (NfsQuota.XFS_PROJECT) needs --data-dir /data on XFS mounted with prjquota; it is on xfs /dev/sdb mounted at /data with rw,relatime,attr2,inode64,noquota');
    expect(refuse).toThrow(/mount the backing volume with prjquota .*or use quota: NfsQuota\.LOOP_IMAGE/);
  });

  test('project quota that only counts (pqnoenforce) is refused: limits would not hold', () => {
    expect(() => checkProjectQuotaMount('/data', mount('xfs', 'rw,pqnoenforce'))).toThrow(/limits not enforced.*NfsQuota\.LOOP_IMAGE/);
  });

  test('another filesystem is refused', () => {
    expect(() => checkProjectQuotaMount('/data', mount('ext4', 'rw,prjquota'))).toThrow(/it is on ext4 .*mount the backing volume with prjquota/);
    expect(() => checkProjectQuotaMount('/data', undefined)).toThrow(/no mount holds it/);
  });

  test('blanks in a path are refused: xfs_quota splits its -c command on them', () => {
    expect(() => checkProjectQuotaMount('/data dir', mount('xfs', 'rw,prjquota', '/'))).toThrow(/without blanks.*move --data-dir/);
    expect(() => checkProjectQuotaMount('/mnt/my disk/x', mount('xfs', 'rw,prjquota', '/mnt/my disk'))).toThrow(/without blanks/);
  });
});

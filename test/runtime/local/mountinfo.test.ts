import { MountTable, parseMountInfo, unescapeMountField } from '../../../src/runtime/local/mountinfo';

const SAMPLE = [
  '22 1 253:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw',
  '36 22 7:0 / /mnt/disks/vol\\0401 rw,noatime shared:20 master:3 - ext4 /dev/loop0 rw',
  '37 22 7:0 /data/sub /mnt/disks/bound rw shared:21 - ext4 /dev/loop0 rw',
  '38 22 0:52 / /mnt/disks/tab\\011and\\012newline\\134slash rw - tmpfs tmpfs rw',
  '39 22 8:16 / /var/lib/weird rw - xfs /dev/sdb rw,attr2,inode64,prjquota',
  'garbage line without separator',
  '',
].join('\n');

describe('mountinfo', () => {
  test('undoes octal escapes', () => {
    expect(unescapeMountField('a\\040b\\011c\\012d\\134e')).toBe('a b\tc\nd\\e');
    expect(unescapeMountField('plain')).toBe('plain');
  });

  test('parses fields around optional fields and skips malformed lines', () => {
    const entries = parseMountInfo(SAMPLE);
    expect(entries).toHaveLength(5);
    expect(entries[1]).toEqual({
      mountId: 36, parentId: 22, devno: '7:0', root: '/', mountPoint: '/mnt/disks/vol 1', fsType: 'ext4', source: '/dev/loop0', superOptions: 'rw',
    });
    expect(entries[4].superOptions).toBe('rw,attr2,inode64,prjquota');
    expect(entries[2].root).toBe('/data/sub');
    expect(entries[3].mountPoint).toBe('/mnt/disks/tab\tand\nnewline\\slash');
    expect(entries[3].fsType).toBe('tmpfs');
  });

  test('answers mount-point, device and below-a-directory questions', () => {
    const table = new MountTable(parseMountInfo(SAMPLE));
    expect(table.isMountPoint('/mnt/disks/vol 1')).toBe(true);
    expect(table.isMountPoint('/mnt/disks/vol 1/')).toBe(true);
    expect(table.isMountPoint('/mnt/disks')).toBe(false);
    expect(table.isMountPoint('/mnt/disks/vol')).toBe(false);
    expect(table.mountsOf('7:0')).toEqual(['/mnt/disks/vol 1', '/mnt/disks/bound']);
    expect(table.mountsOf('8:32')).toEqual([]);
    expect(table.mountsBelow('/mnt/disks').sort()).toEqual(['/mnt/disks/bound', '/mnt/disks/tab\tand\nnewline\\slash', '/mnt/disks/vol 1']);
    expect(table.mountsBelow('/mnt/disk')).toEqual([]);
  });

  test('finds the mount that holds a path: the longest mount point above it', () => {
    const table = new MountTable(parseMountInfo(SAMPLE));
    expect(table.mountContaining('/var/lib/weird/data/volumes')?.mountPoint).toBe('/var/lib/weird');
    expect(table.mountContaining('/var/lib/weird')?.mountPoint).toBe('/var/lib/weird');
    expect(table.mountContaining('/var/lib/weirder')?.mountPoint).toBe('/');
    expect(table.mountContaining('/mnt/disks/vol 1/x')?.fsType).toBe('ext4');
  });

  test('mountAt: the mount visible at a point, with its root; the top one when mounts are stacked', () => {
    const table = new MountTable(parseMountInfo(SAMPLE));
    expect(table.mountAt('/mnt/disks/bound')).toMatchObject({ mountId: 37, devno: '7:0', root: '/data/sub' });
    expect(table.mountAt('/mnt/disks/vol 1/')?.root).toBe('/');
    expect(table.mountAt('/mnt/disks')).toBeUndefined();
    // 41 was mounted onto 40, which was mounted onto 37: 41 is what a lookup there finds, whatever the line order.
    const stacked = new MountTable(parseMountInfo([
      '41 40 7:2 /c /mnt/disks/bound rw - ext4 /dev/loop2 rw',
      SAMPLE,
      '40 37 7:1 /b /mnt/disks/bound rw - ext4 /dev/loop1 rw',
    ].join('\n')));
    expect(stacked.mountAt('/mnt/disks/bound')).toMatchObject({ mountId: 41, root: '/c' });
  });

  test('reads this process\'s table, which always has the root mount', async () => {
    const table = await MountTable.read();
    expect(table.isMountPoint('/')).toBe(true);
    expect(table.entries.length).toBeGreaterThan(1);
  });
});

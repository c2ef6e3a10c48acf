import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { loadLocalAgentConfig, LocalConfigError, parseLocalAgentConfig } from '../../../src/runtime/local/class-map';

const fsClass = {
  storageClassName: 'local-fs',
  hostDir: '/mnt/disks',
  mountDir: '/mnt/disks',
  volumeMode: 'Filesystem',
  namePattern: '*',
  reclaimPolicy: 'Delete',
};
const blockClass = {
  storageClassName: 'local-block',
  hostDir: '/mnt/blocks',
  mountDir: '/discovery/blocks',
  volumeMode: 'Block',
  namePattern: 'disk-*',
  reclaimPolicy: 'Delete',
  fsType: 'xfs',
  blockCleaner: { kind: 'SHRED', passes: 2 },
};

function parse(value: unknown) {
  return parseLocalAgentConfig(JSON.stringify(value), 'classes.json');
}

describe('local agent config', () => {
  test('accepts a valid class map and keeps every field', () => {
    const config = parse({ classes: [{ ...fsClass, mountOptions: ['noatime'] }, blockClass] });
    expect(config.classes).toEqual([{ ...fsClass, mountOptions: ['noatime'] }, blockClass]);
  });

  test('defaults namePattern to * and strips a trailing slash from directories', () => {
    const { namePattern, ...rest } = fsClass;
    const config = parse({ classes: [{ ...rest, hostDir: '/mnt/disks/' }] });
    expect(config.classes[0].namePattern).toBe('*');
    expect(config.classes[0].hostDir).toBe('/mnt/disks');
    expect(namePattern).toBe('*');
  });

  test.each([
    ['not JSON', '{', /classes.json: not valid JSON/],
    ['no classes list', '{"class": []}', /expected an object \{"classes": \[\.\.\.\]\}/],
  ])('rejects %s', (_, text, message) => {
    expect(() => parseLocalAgentConfig(text, 'classes.json')).toThrow(message);
  });

  test.each<[string, Record<string, unknown>, RegExp]>([
    ['a relative hostDir', { hostDir: 'mnt/disks' }, /classes\[0\] \(local-fs\): hostDir is "mnt\/disks"; expected a normalized absolute directory/],
    ['hostDir /', { hostDir: '/' }, /hostDir is "\/"/],
    ['a hostDir with ..', { hostDir: '/mnt/../etc' }, /hostDir is "\/mnt\/..\/etc"/],
    ['an unknown volumeMode', { volumeMode: 'Raw' }, /volumeMode is "Raw"; expected one of Filesystem, Block/],
    ['an unknown reclaimPolicy', { reclaimPolicy: 'Recycle' }, /reclaimPolicy is "Recycle"; expected one of Delete, Retain/],
    ['a namePattern with /', { namePattern: 'a/*' }, /namePattern "a\/\*" contains '\/'/],
    ['mountOptions that are not strings', { mountOptions: [1] }, /mountOptions is \[1\]; expected a list of non-empty strings/],
    ['a missing storageClassName', { storageClassName: undefined }, /storageClassName is missing; expected a non-empty string/],
  ])('rejects %s, naming the field and the value', (_, patch, message) => {
    expect(() => parse({ classes: [{ ...fsClass, ...patch }] })).toThrow(message);
  });

  test('rejects a Block class that deletes without a cleaner', () => {
    const { blockCleaner, ...noCleaner } = blockClass;
    expect(blockCleaner).toBeDefined();
    expect(() => parse({ classes: [noCleaner] })).toThrow(/a Block class with reclaimPolicy Delete needs a blockCleaner \(one of QUICK_RESET, SHRED, ZERO, BLKDISCARD\)/);
    expect(parse({ classes: [{ ...noCleaner, reclaimPolicy: 'Retain' }] }).classes[0].blockCleaner).toBeUndefined();
  });

  test.each<[unknown, RegExp]>([
    [{ kind: 'DBAN' }, /blockCleaner: kind is "DBAN"; expected one of QUICK_RESET, SHRED, ZERO, BLKDISCARD/],
    [{ kind: 'SHRED', passes: 0 }, /blockCleaner.passes is 0; expected a whole number from 1 to 100/],
    [{ kind: 'ZERO', passes: 1.5 }, /blockCleaner.passes is 1.5/],
    [{ kind: 'BLKDISCARD', passes: 2 }, /passes is set but BLKDISCARD takes no passes/],
  ])('rejects the block cleaner %j', (cleaner, message) => {
    expect(() => parse({ classes: [{ ...blockClass, blockCleaner: cleaner }] })).toThrow(message);
  });

  test('rejects two classes on one directory and a repeated class name', () => {
    expect(() => parse({ classes: [fsClass, { ...fsClass, storageClassName: 'other', hostDir: '/mnt/other' }] }))
      .toThrow(/classes local-fs and other share the directory \/mnt\/disks; each class needs its own discovery directory/);
    expect(() => parse({ classes: [fsClass, { ...fsClass, storageClassName: 'inner', hostDir: '/mnt/disks/inner', mountDir: '/inner' }] }))
      .toThrow(/classes inner and local-fs share the directory \/mnt\/disks\/inner; each class needs its own discovery directory, not nested in another/);
    expect(parse({ classes: [fsClass, { ...fsClass, storageClassName: 'sibling', hostDir: '/mnt/disks-2', mountDir: '/mnt/disks-2' }] }).classes).toHaveLength(2);
    expect(() => parse({ classes: [fsClass, { ...fsClass, hostDir: '/a', mountDir: '/b' }] }))
      .toThrow(/storage class local-fs appears twice/);
  });

  test('keeps the provisioner the agent belongs to; a map without one (earlier versions) is accepted', () => {
    expect(parse({ provisioner: 'storage/local-disks-c8a1b2c3', classes: [fsClass] })).toEqual({ provisioner: 'storage/local-disks-c8a1b2c3', classes: [fsClass] });
    expect(parse({ classes: [fsClass] })).toEqual({ classes: [fsClass] });
  });

  test('keeps the provisioner\'s former identity, and checks it like the provisioner', () => {
    expect(parse({ provisioner: 'storage/local-disks', formerProvisioner: 'storage/storage-local-disks-c8a1b2c3', classes: [fsClass] }))
      .toEqual({ provisioner: 'storage/local-disks', formerProvisioner: 'storage/storage-local-disks-c8a1b2c3', classes: [fsClass] });
    expect(() => parse({ provisioner: 'storage/local-disks', formerProvisioner: 'a/b/c', classes: [fsClass] }))
      .toThrow(/classes.json: formerProvisioner is "a\/b\/c"; expected "<namespace>\/<name>"/);
  });

  test.each<[unknown]>([[''], ['local-disks'], ['storage/'], ['Storage/disks'], ['a/b/c'], ['storage/disks\n'], [42]])('rejects the provisioner %j, naming the expected form', (provisioner) => {
    expect(() => parse({ provisioner, classes: [fsClass] })).toThrow(/classes.json: provisioner is .*; expected "<namespace>\/<name>" of the LocalStaticProvisioner \(its namespace and construct id\)/);
  });

  test('loads from a file, and names an unreadable file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-config-'));
    try {
      const file = path.join(dir, 'classes.json');
      fs.writeFileSync(file, JSON.stringify({ classes: [fsClass] }));
      await expect(loadLocalAgentConfig(file)).resolves.toEqual({ classes: [fsClass] });
      await expect(loadLocalAgentConfig(path.join(dir, 'missing.json'))).rejects.toThrow(LocalConfigError);
      await expect(loadLocalAgentConfig(path.join(dir, 'missing.json'))).rejects.toThrow(/cannot read the local class map .*missing.json/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

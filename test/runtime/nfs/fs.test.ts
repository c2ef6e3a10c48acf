import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { archiveNames, FsError, NfsRootFs } from '../../../src/runtime/nfs/fs';
import { RETAINED_DIR, UNFINISHED_DIR } from '../../../src/runtime/nfs/journal';
import { makeByteNamedTree, makeDeepTree } from '../fs/tenant-trees';

let base: string;
let root: string;
let outside: string;
let vfs: NfsRootFs;

beforeEach(() => {
  base = fs.mkdtempSync(path.join(os.tmpdir(), 'nfs-fs-'));
  root = path.join(base, 'root');
  outside = path.join(base, 'outside');
  fs.mkdirSync(root);
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'secret'), 'keep me');
  vfs = new NfsRootFs(root);
});

afterEach(() => {
  fs.rmSync(base, { recursive: true, force: true });
});

const mode = (p: string) => fs.statSync(p).mode % 0o10000;
const outsideUntouched = () => {
  expect(fs.readdirSync(outside).sort()).toEqual(['secret']);
  expect(fs.readFileSync(path.join(outside, 'secret'), 'utf8')).toBe('keep me');
};

describe('check', () => {
  test('accepts an existing directory', async () => {
    await expect(NfsRootFs.check(root)).resolves.toBeUndefined();
  });

  test('rejects a missing root with a message naming it', async () => {
    await expect(NfsRootFs.check(path.join(base, 'nope'))).rejects.toThrow(/nope does not exist/);
  });
});

describe('ensureDirectory', () => {
  test('creates a flat directory with the exact mode despite the umask', async () => {
    const old = process.umask(0o077);
    try {
      await expect(vfs.ensureDirectory('ns-a-pvc-1', 0o777)).resolves.toEqual({ created: true });
    } finally {
      process.umask(old);
    }
    expect(mode(path.join(root, 'ns-a-pvc-1'))).toBe(0o777);
  });

  test('sets setgid modes', async () => {
    await vfs.ensureDirectory('grp', 0o2770);
    expect(mode(path.join(root, 'grp'))).toBe(0o2770);
  });

  test('creates nested parents with 0755 and the leaf with the class mode', async () => {
    const old = process.umask(0o077);
    try {
      await vfs.ensureDirectory('ns/claim/data', 0o770);
    } finally {
      process.umask(old);
    }
    expect(mode(path.join(root, 'ns'))).toBe(0o755);
    expect(mode(path.join(root, 'ns/claim'))).toBe(0o755);
    expect(mode(path.join(root, 'ns/claim/data'))).toBe(0o770);
  });

  test('leaves the mode of an existing parent alone', async () => {
    fs.mkdirSync(path.join(root, 'ns'), { mode: 0o700 });
    fs.chmodSync(path.join(root, 'ns'), 0o700);
    await vfs.ensureDirectory('ns/claim', 0o777);
    expect(mode(path.join(root, 'ns'))).toBe(0o700);
  });

  test('reuses a directory left by a crash (empty: the mode is set again)', async () => {
    fs.mkdirSync(path.join(root, 'ns-a-pvc-1'), { mode: 0o700 });
    fs.chmodSync(path.join(root, 'ns-a-pvc-1'), 0o700);
    await expect(vfs.ensureDirectory('ns-a-pvc-1', 0o775)).resolves.toEqual({ created: false });
    expect(mode(path.join(root, 'ns-a-pvc-1'))).toBe(0o775);
    expect(fs.readdirSync(root)).toEqual(['ns-a-pvc-1']);
  });

  test('reuses a directory with data and keeps its mode (a database may have tightened it)', async () => {
    fs.mkdirSync(path.join(root, 'vol'));
    fs.chmodSync(path.join(root, 'vol'), 0o700);
    fs.writeFileSync(path.join(root, 'vol', 'PG_VERSION'), '16');
    await expect(vfs.ensureDirectory('vol', 0o777)).resolves.toEqual({ created: false });
    expect(mode(path.join(root, 'vol'))).toBe(0o700);
    expect(fs.readFileSync(path.join(root, 'vol', 'PG_VERSION'), 'utf8')).toBe('16');
  });

  test.each([
    ['the leaf', 'ns/claim', 'ns/claim'],
    ['the first component', 'ns/claim', 'ns'],
    ['a middle component', 'a/b/c', 'a/b'],
  ])('refuses a symlink at %s and writes nothing outside the root', async (_what, rel, linkAt) => {
    fs.mkdirSync(path.dirname(path.join(root, linkAt)), { recursive: true });
    fs.symlinkSync(outside, path.join(root, linkAt));
    const error = await vfs.ensureDirectory(rel, 0o777).catch((e) => e);
    expect(error).toBeInstanceOf(FsError);
    expect(error.kind).toBe('symlink');
    expect(error.message).toContain('symbolic link');
    outsideUntouched();
    expect(mode(outside)).not.toBe(0o777);
  });

  test('refuses a relative symlink that points back inside the root too (never followed)', async () => {
    fs.mkdirSync(path.join(root, 'real'));
    fs.symlinkSync('real', path.join(root, 'alias'));
    await expect(vfs.ensureDirectory('alias/x', 0o777)).rejects.toMatchObject({ kind: 'symlink' });
    expect(fs.readdirSync(path.join(root, 'real'))).toEqual([]);
  });

  test('refuses a dangling symlink (mkdir through it would create the target)', async () => {
    fs.symlinkSync(path.join(outside, 'created-by-attack'), path.join(root, 'vol'));
    await expect(vfs.ensureDirectory('vol', 0o777)).rejects.toMatchObject({ kind: 'symlink' });
    outsideUntouched();
  });

  test('refuses a file in the way', async () => {
    fs.writeFileSync(path.join(root, 'ns'), 'x');
    await expect(vfs.ensureDirectory('ns/claim', 0o777)).rejects.toMatchObject({ kind: 'not-a-directory' });
  });

  test.each(['../outside', 'a/../../outside', '/etc', '', 'a//b', './a', 'a/.', 'a\0b'])(
    'refuses the path %j before touching the disk', async (rel) => {
      await expect(vfs.ensureDirectory(rel, 0o777)).rejects.toMatchObject({ kind: 'invalid-path' });
      expect(fs.readdirSync(root)).toEqual([]);
      outsideUntouched();
    });

  test('refuses names longer than the file system holds', async () => {
    await expect(vfs.ensureDirectory('x'.repeat(256), 0o777)).rejects.toMatchObject({ kind: 'name-too-long' });
    await expect(vfs.ensureDirectory('é'.repeat(128), 0o777)).rejects.toMatchObject({ kind: 'name-too-long' });
    await expect(vfs.ensureDirectory('x'.repeat(255), 0o777)).resolves.toEqual({ created: true });
  });

  test('never hands out an existing archive, nor makes a volume with the archive prefix at the top (deeper it is a plain name)', async () => {
    fs.mkdirSync(path.join(root, 'archived-old-pvc-1'));
    fs.writeFileSync(path.join(root, 'archived-old-pvc-1', 'data'), 'old');
    await expect(vfs.ensureDirectory('archived-old-pvc-1', 0o777)).rejects.toThrow(/has the prefix of archives \("archived-"\)/);
    await expect(vfs.ensureDirectory('archived-old-pvc-1/sub', 0o777)).rejects.toMatchObject({ kind: 'invalid-path' });
    expect(fs.readdirSync(path.join(root, 'archived-old-pvc-1'))).toEqual(['data']);
    await expect(vfs.ensureDirectory('archived-ns-pvc-2', 0o777)).rejects.toMatchObject({ kind: 'invalid-path' });
    expect(fs.readdirSync(root)).toEqual(['archived-old-pvc-1']);
    await expect(vfs.ensureDirectory('ns/archived-x', 0o777)).resolves.toEqual({ created: true });
  });

  test('no volume gets a top-level name with the prefix of the controller\'s own directories', async () => {
    for (const name of ['.cdk8s-storage-unfinished', '.cdk8s-storage-retained', '.cdk8s-storage-anything/x']) {
      await expect(vfs.ensureDirectory(name, 0o777)).rejects.toThrow(/is reserved for the controller's own notes/);
    }
    expect(fs.readdirSync(root)).toEqual([]);
  });
});

describe('exists', () => {
  test('tells whether anything is at a path, without following a link on the way', async () => {
    fs.mkdirSync(path.join(root, 'ns/vol'), { recursive: true });
    fs.writeFileSync(path.join(root, 'file'), '');
    fs.symlinkSync(outside, path.join(root, 'link'));
    await expect(vfs.exists('ns/vol')).resolves.toBe(true);
    await expect(vfs.exists('file')).resolves.toBe(true);
    await expect(vfs.exists('link')).resolves.toBe(true);
    await expect(vfs.exists('ns/other')).resolves.toBe(false);
    await expect(vfs.exists('missing/vol')).resolves.toBe(false);
    await expect(vfs.exists('link/secret')).rejects.toMatchObject({ kind: 'symlink' });
  });
});

describe('removeDirectory', () => {
  test('removes a tree with files, subdirectories and special names', async () => {
    const vol = path.join(root, 'vol');
    fs.mkdirSync(path.join(vol, 'a/b/c'), { recursive: true });
    fs.writeFileSync(path.join(vol, 'a/b/c/file'), 'x');
    fs.writeFileSync(path.join(vol, '.hidden'), 'x');
    fs.writeFileSync(path.join(vol, 'with space\nnewline'), 'x');
    fs.chmodSync(path.join(vol, 'a/b'), 0o000);
    await expect(vfs.removeDirectory('vol')).resolves.toBe('removed');
    expect(fs.existsSync(vol)).toBe(false);
  });

  test('removes symlinks inside the volume without following them', async () => {
    const vol = path.join(root, 'vol');
    fs.mkdirSync(path.join(vol, 'sub'), { recursive: true });
    fs.symlinkSync(outside, path.join(vol, 'to-outside'));
    fs.symlinkSync(outside, path.join(vol, 'sub', 'deeper-link'));
    fs.symlinkSync(path.join(outside, 'secret'), path.join(vol, 'file-link'));
    fs.linkSync(path.join(outside, 'secret'), path.join(vol, 'hardlink'));
    await vfs.removeDirectory('vol');
    expect(fs.existsSync(vol)).toBe(false);
    outsideUntouched();
  });

  test('reports a directory that is already gone', async () => {
    await expect(vfs.removeDirectory('gone')).resolves.toBe('missing');
    await expect(vfs.removeDirectory('ns/gone')).resolves.toBe('missing');
  });

  test.each([
    ['the volume itself', 'ns/vol', 'ns/vol'],
    ['a parent', 'ns/vol', 'ns'],
  ])('refuses when %s is a symlink', async (_what, rel, linkAt) => {
    fs.mkdirSync(path.dirname(path.join(root, linkAt)), { recursive: true });
    fs.symlinkSync(outside, path.join(root, linkAt));
    await expect(vfs.removeDirectory(rel)).rejects.toMatchObject({ kind: 'symlink' });
    outsideUntouched();
    expect(fs.lstatSync(path.join(root, linkAt)).isSymbolicLink()).toBe(true);
  });

  test('removes trees deeper than the pinned-descriptor limit', async () => {
    const deep = Array.from({ length: 80 }, (_, i) => `d${i}`).join('/');
    fs.mkdirSync(path.join(root, 'vol', deep), { recursive: true });
    fs.writeFileSync(path.join(root, 'vol', deep, 'leaf'), 'x');
    fs.symlinkSync(outside, path.join(root, 'vol', deep, 'link'));
    await vfs.removeDirectory('vol');
    expect(fs.existsSync(path.join(root, 'vol'))).toBe(false);
    outsideUntouched();
  });

  test('removes names that are not UTF-8 (they no longer leave the directory non-empty for good)', async () => {
    fs.mkdirSync(path.join(root, 'vol'));
    makeByteNamedTree(path.join(root, 'vol'));
    await expect(vfs.removeDirectory('vol')).resolves.toBe('removed');
    expect(fs.readdirSync(root)).toEqual([]);
  });

  test('removes a tree deeper than PATH_MAX', async () => {
    fs.mkdirSync(path.join(root, 'vol'));
    expect(makeDeepTree(path.join(root, 'vol'), 120, 'd'.repeat(40)).pathBytes).toBeGreaterThan(4096);
    await expect(vfs.removeDirectory('vol')).resolves.toBe('removed');
    expect(fs.readdirSync(root)).toEqual([]);
  });

  test('a mount inside the volume is neither entered nor removed; the message names it by the volume path, never /proc/self/fd', async () => {
    const bound = path.join(root, 'vol', 'a', 'bound');
    fs.mkdirSync(bound, { recursive: true });
    execFileSync('mount', ['--bind', outside, bound]);
    try {
      const error = await vfs.removeDirectory('vol').catch((e) => e);
      expect(error).toBeInstanceOf(FsError);
      expect(error.message).toBe(`${bound} inside ${path.join(root, 'vol')} is another mount; it was not entered and the volume is not removed: unmount it on the server`);
      outsideUntouched();
    } finally {
      execFileSync('umount', [bound]);
    }
    await expect(vfs.removeDirectory('vol')).resolves.toBe('removed');
  });

  test('refuses a path outside the root', async () => {
    await expect(vfs.removeDirectory('../outside')).rejects.toMatchObject({ kind: 'invalid-path' });
    outsideUntouched();
  });
});

describe('archiveDirectory', () => {
  test('moves the directory to a unique name under the root, data intact', async () => {
    fs.mkdirSync(path.join(root, 'ns/claim'), { recursive: true });
    fs.writeFileSync(path.join(root, 'ns/claim/data'), 'payload');
    const result = await vfs.archiveDirectory('ns/claim', 'pvc-1');
    expect(result).toEqual({ outcome: 'archived', archivedAs: 'archived-ns-claim-pvc-1' });
    expect(fs.readFileSync(path.join(root, 'archived-ns-claim-pvc-1/data'), 'utf8')).toBe('payload');
    expect(fs.existsSync(path.join(root, 'ns/claim'))).toBe(false);
  });

  test('does not repeat a suffix the name already carries', async () => {
    fs.mkdirSync(path.join(root, 'ns-claim-pvc-1'));
    await expect(vfs.archiveDirectory('ns-claim-pvc-1', 'pvc-1')).resolves.toEqual({ outcome: 'archived', archivedAs: 'archived-ns-claim-pvc-1' });
  });

  test('never overwrites an earlier archive that holds data', async () => {
    fs.mkdirSync(path.join(root, 'archived-ns-claim-pvc-1'));
    fs.writeFileSync(path.join(root, 'archived-ns-claim-pvc-1/old'), 'earlier');
    fs.mkdirSync(path.join(root, 'ns/claim'), { recursive: true });
    fs.writeFileSync(path.join(root, 'ns/claim/new'), 'later');
    const result = await vfs.archiveDirectory('ns/claim', 'pvc-1');
    expect(result).toEqual({ outcome: 'archived', archivedAs: 'archived-ns-claim-pvc-1-2' });
    expect(fs.readdirSync(path.join(root, 'archived-ns-claim-pvc-1'))).toEqual(['old']);
    expect(fs.readdirSync(path.join(root, 'archived-ns-claim-pvc-1-2'))).toEqual(['new']);
  });

  test('two volumes with the same last name archive to different names', async () => {
    fs.mkdirSync(path.join(root, 'ns1/data'), { recursive: true });
    fs.mkdirSync(path.join(root, 'ns2/data'), { recursive: true });
    const a = await vfs.archiveDirectory('ns1/data', 'pvc-a');
    const b = await vfs.archiveDirectory('ns2/data', 'pvc-b');
    expect(a).toEqual({ outcome: 'archived', archivedAs: 'archived-ns1-data-pvc-a' });
    expect(b).toEqual({ outcome: 'archived', archivedAs: 'archived-ns2-data-pvc-b' });
  });

  test('reuses the empty name left by a crash between claiming the name and the rename', async () => {
    fs.mkdirSync(path.join(root, 'archived-vol-pvc-1'));
    fs.mkdirSync(path.join(root, 'vol'));
    fs.writeFileSync(path.join(root, 'vol/x'), '1');
    await expect(vfs.archiveDirectory('vol', 'pvc-1')).resolves.toEqual({ outcome: 'archived', archivedAs: 'archived-vol-pvc-1' });
    expect(fs.readdirSync(root)).toEqual(['archived-vol-pvc-1']);
  });

  test('never renames onto a name a live volume uses, even an empty one, so no claim receives an archive', async () => {
    // A volume provisioned (before the prefix was refused) as archived-ns-db-pvc-2: empty, live.
    fs.mkdirSync(path.join(root, 'archived-ns-db-pvc-2'));
    fs.mkdirSync(path.join(root, 'ns/db'), { recursive: true });
    fs.writeFileSync(path.join(root, 'ns/db/secret'), 'victim');
    const live = new Set(['archived-ns-db-pvc-2']);
    const result = await vfs.archiveDirectory('ns/db', 'pvc-2', (name) => live.has(name));
    expect(result).toEqual({ outcome: 'archived', archivedAs: 'archived-ns-db-pvc-2-2' });
    expect(fs.readdirSync(path.join(root, 'archived-ns-db-pvc-2'))).toEqual([]);
    expect(fs.readFileSync(path.join(root, 'archived-ns-db-pvc-2-2/secret'), 'utf8')).toBe('victim');
  });

  test('reports a directory that is already gone', async () => {
    await expect(vfs.archiveDirectory('vol', 'pvc-1')).resolves.toEqual({ outcome: 'missing' });
  });

  test('refuses to archive through a symlinked parent or a symlinked volume', async () => {
    fs.symlinkSync(outside, path.join(root, 'ns'));
    await expect(vfs.archiveDirectory('ns/secret', 'pvc-1')).rejects.toMatchObject({ kind: 'symlink' });
    fs.symlinkSync(outside, path.join(root, 'vol'));
    await expect(vfs.archiveDirectory('vol', 'pvc-1')).rejects.toMatchObject({ kind: 'symlink' });
    outsideUntouched();
    expect(fs.readdirSync(root).sort()).toEqual(['ns', 'vol']);
  });

  test('archive names stay within 255 bytes and keep the unique suffix', () => {
    const names = [...archiveNames('é'.repeat(120) + '/' + 'x'.repeat(200), 'pvc-0123')].slice(0, 3);
    for (const name of names) {
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(255);
      expect(name.startsWith('archived-')).toBe(true);
    }
    expect(names[0].endsWith('-pvc-0123')).toBe(true);
    expect(names[1].endsWith('-pvc-0123-2')).toBe(true);
  });
});

describe('removeEmptyParents and removeIfEmpty', () => {
  test('removes empty parents up to the root and stops at one with other volumes', async () => {
    fs.mkdirSync(path.join(root, 'ns/a/vol'), { recursive: true });
    fs.mkdirSync(path.join(root, 'ns/b'), { recursive: true });
    fs.rmdirSync(path.join(root, 'ns/a/vol'));
    await vfs.removeEmptyParents('ns/a/vol');
    expect(fs.existsSync(path.join(root, 'ns/a'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'ns/b'))).toBe(true);
    await vfs.removeEmptyParents('ns/b/vol');
    expect(fs.readdirSync(root)).toEqual([]);
  });

  test('does not follow a symlinked parent', async () => {
    fs.mkdirSync(path.join(outside, 'empty'));
    fs.symlinkSync(outside, path.join(root, 'ns'));
    await vfs.removeEmptyParents('ns/empty/vol');
    expect(fs.existsSync(path.join(outside, 'empty'))).toBe(true);
  });

  test('removeIfEmpty removes only an empty directory', async () => {
    fs.mkdirSync(path.join(root, 'empty'));
    fs.mkdirSync(path.join(root, 'full'));
    fs.writeFileSync(path.join(root, 'full/x'), '1');
    await expect(vfs.removeIfEmpty('empty')).resolves.toBe(true);
    await expect(vfs.removeIfEmpty('full')).resolves.toBe(false);
    await expect(vfs.removeIfEmpty('missing/x')).resolves.toBe(false);
    expect(fs.readdirSync(root)).toEqual(['full']);
  });
});

describe('provisioning notes', () => {
  test('record, list and clear; the notes directory goes with its last note', async () => {
    await vfs.recordUnfinished('pvc-1', 'ns/a');
    await vfs.recordUnfinished('pvc-2', 'ns-b-pvc-2');
    await vfs.recordUnfinished('pvc-1', 'ns/a2'); // a retry rewrites the note
    expect(await vfs.listUnfinished()).toEqual([{ pvName: 'pvc-1', relativePath: 'ns/a2' }, { pvName: 'pvc-2', relativePath: 'ns-b-pvc-2' }]);
    expect(mode(path.join(root, UNFINISHED_DIR))).toBe(0o700);
    await vfs.clearUnfinished('pvc-1');
    await vfs.clearUnfinished('pvc-1'); // twice is fine
    expect(await vfs.listUnfinished()).toEqual([{ pvName: 'pvc-2', relativePath: 'ns-b-pvc-2' }]);
    await vfs.clearUnfinished('pvc-2');
    expect(fs.readdirSync(root)).toEqual([]);
    expect(await vfs.listUnfinished()).toEqual([]);
  });

  test('a note being rewritten (a retry) is never seen empty or missing, so a crash at any moment leaves the whole note', async () => {
    await vfs.recordUnfinished('pvc-1', 'ns/a');
    let rewriting = true;
    const rewrites = (async () => {
      while (rewriting) await vfs.recordUnfinished('pvc-1', 'ns/a');
    })();
    // What a reader sees at any moment is what a controller killed at that moment leaves.
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) seen.add(JSON.stringify(await vfs.listUnfinished()));
    rewriting = false;
    await rewrites;
    expect([...seen]).toEqual([JSON.stringify([{ pvName: 'pvc-1', relativePath: 'ns/a' }])]);
  });

  test('a note whose writer was killed before it was in place is listed without a directory, and cleared with its volume', async () => {
    await vfs.recordUnfinished('pvc-2', 'ns/b');
    const notes = path.join(root, UNFINISHED_DIR);
    fs.writeFileSync(path.join(notes, '.pvc-1'), 'ns/'); // cut short: never renamed into place
    fs.writeFileSync(path.join(notes, '.pvc-2'), 'ns/'); // a rewrite in progress next to a whole note
    expect(await vfs.listUnfinished()).toEqual([{ pvName: 'pvc-1' }, { pvName: 'pvc-2', relativePath: 'ns/b' }]);
    await vfs.clearUnfinished('pvc-1');
    await vfs.clearUnfinished('pvc-2');
    expect(fs.readdirSync(root)).toEqual([]);
  });

  test('no volume may use the notes directory\'s name', async () => {
    await expect(vfs.ensureDirectory(`${UNFINISHED_DIR}/x`, 0o777)).rejects.toThrow(/is reserved/);
    expect(fs.readdirSync(root)).toEqual([]);
  });

  test('listing skips what the controller did not write: links, odd names, paths out of the root, FIFOs', async () => {
    await vfs.recordUnfinished('pvc-ok', 'ns/ok');
    const notes = path.join(root, UNFINISHED_DIR);
    fs.symlinkSync(path.join(outside, 'secret'), path.join(notes, 'pvc-link'));
    fs.writeFileSync(path.join(notes, 'Not A PV'), 'ns/x');
    fs.writeFileSync(path.join(notes, 'pvc-escape'), '../outside');
    await new Promise<void>((resolve, reject) => {
      spawn('mkfifo', [path.join(notes, 'pvc-fifo')]).on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mkfifo: ${code}`))));
    });
    expect(await vfs.listUnfinished()).toEqual([{ pvName: 'pvc-ok', relativePath: 'ns/ok' }]);
    outsideUntouched();
  });

  test('a notes directory swapped for a link is not written through', async () => {
    fs.symlinkSync(outside, path.join(root, UNFINISHED_DIR));
    await expect(vfs.recordUnfinished('pvc-1', 'ns/a')).rejects.toBeInstanceOf(FsError);
    await expect(vfs.listUnfinished()).rejects.toBeInstanceOf(FsError);
    outsideUntouched();
  });
});

describe('notes of directories kept by RETAIN', () => {
  const kept = (pvName: string, relativePath: string, namespace: string, claim = 'db') => ({ pvName, relativePath, namespace, claim });

  test('record, list and clear; the folder is private and goes with its last note', async () => {
    await vfs.recordRetained(kept('pvc-1', 'ns/db', 'ns'));
    await vfs.recordRetained(kept('pvc-2', 'other/web', 'other', 'web'));
    expect(await vfs.listRetained()).toEqual([kept('pvc-1', 'ns/db', 'ns'), kept('pvc-2', 'other/web', 'other', 'web')]);
    expect(mode(path.join(root, RETAINED_DIR))).toBe(0o700);
    expect(JSON.parse(fs.readFileSync(path.join(root, RETAINED_DIR, 'pvc-1'), 'utf8'))).toEqual({ directory: 'ns/db', namespace: 'ns', claim: 'db' });
    await vfs.clearRetained('pvc-1');
    await vfs.clearRetained('pvc-1');
    expect(await vfs.listRetained()).toEqual([kept('pvc-2', 'other/web', 'other', 'web')]);
    await vfs.clearRetained('pvc-2');
    expect(fs.readdirSync(root)).toEqual([]);
  });

  test('the newest owner of a directory replaces an older note about it', async () => {
    await vfs.recordRetained(kept('pvc-old', 'shared/db', 'a'));
    await vfs.recordRetained(kept('pvc-new', 'shared/db', 'b'));
    expect(await vfs.listRetained()).toEqual([kept('pvc-new', 'shared/db', 'b')]);
  });

  test('listing skips what the controller did not write: links, odd names, bad JSON, paths out of the root', async () => {
    await vfs.recordRetained(kept('pvc-ok', 'ns/ok', 'ns'));
    const notes = path.join(root, RETAINED_DIR);
    fs.symlinkSync(path.join(outside, 'secret'), path.join(notes, 'pvc-link'));
    fs.writeFileSync(path.join(notes, 'Not A PV'), JSON.stringify({ directory: 'ns/x', namespace: 'ns', claim: 'x' }));
    fs.writeFileSync(path.join(notes, 'pvc-escape'), JSON.stringify({ directory: '../outside', namespace: 'ns', claim: 'x' }));
    fs.writeFileSync(path.join(notes, 'pvc-text'), 'ns/x');
    fs.writeFileSync(path.join(notes, 'pvc-empty-ns'), JSON.stringify({ directory: 'ns/x', namespace: '', claim: 'x' }));
    expect(await vfs.listRetained()).toEqual([kept('pvc-ok', 'ns/ok', 'ns')]);
    outsideUntouched();
  });

  test('a notes folder swapped for a link is not written through', async () => {
    fs.symlinkSync(outside, path.join(root, RETAINED_DIR));
    await expect(vfs.recordRetained(kept('pvc-1', 'ns/a', 'ns'))).rejects.toBeInstanceOf(FsError);
    await expect(vfs.listRetained()).rejects.toBeInstanceOf(FsError);
    outsideUntouched();
  });
});

describe('races with a component swapped for a symlink', () => {
  // A separate process flips root/ns between a real directory and a symlink to `outside`
  // as fast as it can while the controller works on paths below it.
  const swapper = (dir: string, target: string) => {
    const script = `
      const fs = require('fs');
      const [dir, target] = process.argv.slice(1);
      const real = dir + '.real', link = dir + '.link';
      fs.mkdirSync(real, { recursive: true });
      fs.symlinkSync(target, link);
      for (let i = 0; ; i++) {
        try { fs.renameSync(i % 2 ? real : link, dir); fs.renameSync(dir, i % 2 ? real : link); } catch {}
      }`;
    return spawn(process.execPath, ['-e', script, dir, target], { stdio: 'ignore' });
  };

  test('ensureDirectory and removeDirectory never write through the swapped link', async () => {
    const child = swapper(path.join(root, 'ns'), outside);
    try {
      for (let i = 0; i < 300; i++) {
        await vfs.ensureDirectory(`ns/vol-${i}`, 0o777).catch(() => undefined);
        await vfs.removeDirectory(`ns/vol-${i}`).catch(() => undefined);
        await vfs.removeDirectory('ns/secret').catch(() => undefined);
      }
    } finally {
      child.kill('SIGKILL');
    }
    outsideUntouched();
  });
});

import { errorAt, MAX_SHOWN_CHARS, showPath } from '../../../src/runtime/fs/show-path';

describe('showPath', () => {
  test('a plain path is shown as it is', () => {
    expect(showPath('/mnt/disks/vol1/a b/é')).toBe('/mnt/disks/vol1/a b/é');
    expect(showPath(Buffer.from('/mnt/disks/vol1/é'))).toBe('/mnt/disks/vol1/é');
  });

  test('control characters and the backslash are escaped, so a name cannot forge a line or an escape', () => {
    expect(showPath('/v/a\nb\tc\u001b[31m\u0085\\x41')).toBe('/v/a\\x0ab\\x09c\\x1b[31m\\x85\\\\x41');
  });

  test('bytes that are not UTF-8 are shown as \\xNN', () => {
    expect(showPath(Buffer.concat([Buffer.from('/v/'), Buffer.from([0xff, 0x41, 0xe2, 0x82, 0x0a])]))).toBe('/v/\\xffA\\xe2\\x82\\x0a');
  });

  test(`a long path is cut in the middle to ${MAX_SHOWN_CHARS} characters, keeping its start and its end`, () => {
    const long = '/mnt/disks/vol1/' + 'd/'.repeat(3000) + 'leaf';
    const shown = showPath(long);
    expect(shown).toHaveLength(MAX_SHOWN_CHARS);
    expect(shown.startsWith('/mnt/disks/vol1/d/d/')).toBe(true);
    expect(shown.endsWith('d/d/leaf')).toBe(true);
    expect(shown).toContain('...');
  });
});

describe('errorAt', () => {
  test('names the path shown safely and keeps the errno code and syscall', () => {
    const cause = Object.assign(new Error("EPERM: operation not permitted, unlink '/proc/self/fd/21/x'"), { code: 'EPERM', syscall: 'unlink' });
    const error = errorAt(cause, Buffer.from('/mnt/disks/vol1/a\nb'));
    expect(error.message).toBe('unlink /mnt/disks/vol1/a\\x0ab: EPERM');
    expect(error).toMatchObject({ code: 'EPERM', syscall: 'unlink' });
  });

  test('an error without an errno code, or naming its path already, is passed through', () => {
    const cause = new Error('something else');
    expect(errorAt(cause, '/x')).toBe(cause);
    const named = errorAt(Object.assign(new Error('x'), { code: 'EIO', syscall: 'read' }), '/deep/entry');
    expect(errorAt(named, '/deep')).toBe(named);
  });
});

import { isSameOrInside, pathsOverlap } from '../../src/contract/path-containment';

test('overlap means equal, inside or containing; siblings with a common prefix do not overlap', () => {
  expect(pathsOverlap('a/b', 'a/b')).toBe(true);
  expect(pathsOverlap('a/b/c', 'a/b')).toBe(true);
  expect(pathsOverlap('a', 'a/b')).toBe(true);
  expect(pathsOverlap('a/bc', 'a/b')).toBe(false);
  expect(pathsOverlap('ab', 'a')).toBe(false);
});

test('inside goes by whole segments, and the root contains every absolute path', () => {
  expect(isSameOrInside('/mnt/disks', '/mnt/disks')).toBe(true);
  expect(isSameOrInside('/mnt/disks/a', '/mnt/disks')).toBe(true);
  expect(isSameOrInside('/mnt/disks', '/mnt/disks/a')).toBe(false);
  expect(isSameOrInside('/mnt/disks2', '/mnt/disks')).toBe(false);
  expect(isSameOrInside('/etc', '/')).toBe(true);
});

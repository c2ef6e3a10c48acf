import * as path from 'path';
import * as fc from 'fast-check';
import {
  DEFAULT_PATH_PATTERN, MAX_PATH_BYTES, parsePathPattern, PathContext, renderPath, resolveUnderRoot, validatePathPattern,
} from '../../src/contract/path-template';

const ctx: PathContext = {
  namespace: 'team-a',
  name: 'data',
  pvName: 'pvc-0d6f3c52-1b7e-4f57-9a43-2b0a5d5ad4f1',
  labels: { 'app': 'web', 'example.com/tier': 'gold' },
  annotations: { 'nfs.io/storage-path': 'shared-data', 'empty': '' },
};

function rendered(pattern: string, c: PathContext = ctx): string {
  const r = renderPath(pattern, c);
  if (!r.ok) throw new Error(r.reason);
  return r.relativePath;
}

function reason(pattern: string, c: PathContext = ctx): string {
  const r = renderPath(pattern, c);
  if (r.ok) throw new Error(`rendered ${r.relativePath}`);
  return r.reason;
}

describe('validatePathPattern', () => {
  test.each([
    DEFAULT_PATH_PATTERN,
    '${.PVC.namespace}/${.PVC.name}',
    '${.PVC.namespace}/${.PVC.labels.app}/${.PVC.name}',
    '${.PVC.namespace}/${.PVC.annotations.nfs.io/storage-path}',
    '${.PV.name}',
    'volumes/${.PVC.namespace}/${.PVC.name}',
    '${.PVC.labels.app}/${.PVC.namespace}',
    'vol-${.PVC.namespace}-${.PVC.name}-${.PV.name}',
    '.hidden-${.PV.name}',
    '..${.PV.name}',
    'archive/${.PV.name}',
    'archived${.PV.name}',
    'x/archived-${.PV.name}',
    '.cdk8s-storage/${.PV.name}',
  ])('accepts %s', (pattern) => {
    expect(validatePathPattern(pattern)).toEqual([]);
  });

  test('an empty pattern is an error', () => {
    expect(validatePathPattern('')).toEqual([expect.stringContaining('pathPattern is empty')]);
  });

  test('an unknown variable is an error listing the known ones', () => {
    const errors = validatePathPattern('${.PVC.namespace}/${.PVC.uid}');
    expect(errors).toEqual([expect.stringContaining('unknown variable "${.PVC.uid}"')]);
    expect(errors[0]).toContain('${.PVC.labels.<key>}');
  });

  test.each([
    '${.PVC.labels.}', '${.PVC.labels.-bad}', '${.PVC.annotations.UPPER.example.com/x}', '${PVC.name}', '${ .PVC.name }', '${}',
  ])('a malformed variable %s is an error', (variable) => {
    expect(validatePathPattern(`${'${.PVC.namespace}'}/${variable}`)).toEqual([expect.stringContaining('unknown variable')]);
  });

  test('an unclosed "${" is an error', () => {
    expect(validatePathPattern('${.PVC.namespace}/${.PVC.name')).toEqual([expect.stringContaining('without its closing "}"')]);
    expect(validatePathPattern('${.PVC.namespace}/${.PVC${.PVC.name}')).toEqual([expect.stringContaining('without its closing "}"')]);
  });

  test('a stray "}" is an error', () => {
    expect(validatePathPattern('${.PVC.namespace}/x}')).toEqual([expect.stringContaining('"}" at character 20')]);
  });

  test('an absolute pattern is an error', () => {
    expect(validatePathPattern('/${.PVC.namespace}')).toEqual([expect.stringContaining('is absolute')]);
  });

  test.each(['..', '.'])('a "%s" level is an error', (dots) => {
    expect(validatePathPattern(`${'${.PVC.namespace}'}/${dots}/x`)).toEqual([expect.stringContaining(`"${dots}" directory level`)]);
    expect(validatePathPattern(`${dots}/${'${.PVC.namespace}'}`)).toHaveLength(1);
  });

  test('empty levels are errors', () => {
    expect(validatePathPattern('${.PVC.namespace}//x')).toEqual([expect.stringContaining('empty directory level')]);
    expect(validatePathPattern('${.PVC.namespace}/')).toEqual([expect.stringContaining('empty directory level')]);
  });

  test('control characters are errors', () => {
    expect(validatePathPattern('${.PVC.namespace}\u0000x')).toEqual([expect.stringContaining('control character')]);
    expect(validatePathPattern('${.PVC.namespace}\nx')).toEqual([expect.stringContaining('control character')]);
  });

  test('an over-long literal level is an error', () => {
    expect(validatePathPattern(`${'x'.repeat(256)}/${'${.PV.name}'}`)).toEqual([expect.stringContaining('of at least 256 bytes even with the shortest values')]);
  });

  test('a level whose text and shortest values exceed 255 bytes can never render: an error', () => {
    // 215 bytes of text + a PV name (40 bytes) = 255: fits; one more byte never does.
    expect(validatePathPattern(`${'x'.repeat(215)}${'${.PV.name}'}`)).toEqual([]);
    expect(validatePathPattern(`${'x'.repeat(216)}${'${.PV.name}'}`)).toEqual([expect.stringContaining('at least 256 bytes even with the shortest values')]);
    expect(validatePathPattern(`${'${.PVC.namespace}'}/${'é'.repeat(127)}${'${.PVC.name}'}`)).toEqual([]);
    expect(validatePathPattern(`${'${.PVC.namespace}'}/${'é'.repeat(127)}${'${.PVC.name}'}${'${.PVC.name}'}`)).toEqual([expect.stringContaining('(segment 2) of at least 256')]);
  });

  test('a pattern whose shortest rendering is 4096 bytes or more can never render: an error', () => {
    const levels = (n: number) => Array.from({ length: n }, () => 'y'.repeat(250));
    // 16 levels of 250 bytes + the namespace level + separators: 4017 bytes, fits.
    expect(validatePathPattern(['${.PVC.namespace}', ...levels(16)].join('/'))).toEqual([]);
    expect(validatePathPattern(['${.PVC.namespace}', ...levels(16), 'z'.repeat(77)].join('/'))).toEqual([]);
    expect(validatePathPattern(['${.PVC.namespace}', ...levels(16), 'z'.repeat(78)].join('/')))
      .toEqual([expect.stringContaining('renders at least 4096 bytes even with the shortest values')]);
  });

  test.each([
    ['archived-${.PV.name}', '"archived-"'],
    ['archived-${.PVC.namespace}/${.PVC.name}', '"archived-"'],
    ['archived-old/${.PV.name}', '"archived-"'],
    ['.cdk8s-storage-unfinished/${.PV.name}', '".cdk8s-storage-"'],
    ['.cdk8s-storage-x${.PV.name}', '".cdk8s-storage-"'],
  ])('a pattern whose first level starts with a reserved prefix is an error: %s', (pattern, prefix) => {
    expect(validatePathPattern(pattern)).toEqual([expect.stringContaining(`starts with ${prefix}`)]);
  });

  test.each([
    '${.PVC.name}',
    'shared',
    '${.PVC.namespace}-${.PVC.name}',
    '${.PVC.namespace}${.PVC.name}',
    '${.PVC.namespace}-${.PVC.labels.app}',
    'vol-${.PVC.namespace}.${.PVC.name}',
    '${.PVC.namespace}x/${.PVC.name}',
    'x${.PVC.namespace}/${.PVC.name}',
    '${.PVC.name}/${.PVC.namespace}-data',
  ])('a pattern that lets two namespaces render one directory is an error: %s', (pattern) => {
    expect(validatePathPattern(pattern)).toEqual([expect.stringContaining('lets claims of two namespaces render one directory')]);
  });

  test('the namespace rule names the fix', () => {
    expect(validatePathPattern('${.PVC.namespace}-${.PVC.name}')[0])
      .toMatch(/make \$\{\.PVC\.namespace\} a directory level of its own .* or add \$\{\.PV\.name\}, which is unique per claim$/);
  });

  test('two namespaces never render one path under an accepted pattern', () => {
    const namespaces = ['payments', 'payments-prod', 'prod', 'a', 'a-b'];
    const names = ['db', 'prod-db', 'b-db', 'x'];
    const accepted = ['${.PVC.namespace}/${.PVC.name}', 'v/${.PVC.namespace}/${.PVC.name}', '${.PVC.name}/${.PVC.namespace}', DEFAULT_PATH_PATTERN];
    for (const pattern of accepted) {
      const owners = new Map<string, string>();
      let uid = 0;
      for (const namespace of namespaces) {
        for (const name of names) {
          const r = renderPath(pattern, { namespace, name, pvName: `pvc-${++uid}` });
          if (!r.ok) throw new Error(r.reason);
          const owner = owners.get(r.relativePath) ?? namespace;
          expect({ pattern, path: r.relativePath, namespace: owner }).toEqual({ pattern, path: r.relativePath, namespace });
          owners.set(r.relativePath, namespace);
        }
      }
    }
  });

  test('all problems are reported at once', () => {
    expect(validatePathPattern('/${.X}/..}')).toHaveLength(3);
  });

  test('parsePathPattern throws with the messages, and returns the segments when valid', () => {
    expect(() => parsePathPattern('${.X}')).toThrow(/unknown variable/);
    expect(parsePathPattern('a-${.PV.name}/${.PVC.labels.app}')).toEqual([
      [{ kind: 'literal', text: 'a-' }, { kind: 'pvName' }],
      [{ kind: 'label', key: 'app' }],
    ]);
  });
});

describe('renderPath', () => {
  test('the default pattern', () => {
    expect(rendered(DEFAULT_PATH_PATTERN)).toBe('team-a-data-pvc-0d6f3c52-1b7e-4f57-9a43-2b0a5d5ad4f1');
  });

  test('nested levels, labels and annotations', () => {
    const r = renderPath('${.PVC.namespace}/${.PVC.labels.example.com/tier}/${.PVC.annotations.nfs.io/storage-path}', ctx);
    expect(r).toEqual({ ok: true, relativePath: 'team-a/gold/shared-data', segments: ['team-a', 'gold', 'shared-data'] });
  });

  test('a missing label is an error naming it', () => {
    expect(reason('${.PVC.namespace}/${.PVC.labels.owner}')).toMatch(/label "owner", which is not set on the claim/);
  });

  test('a missing annotation is an error naming it', () => {
    expect(reason('${.PVC.namespace}/${.PVC.annotations.example.com/dir}')).toMatch(/annotation "example.com\/dir", which is not set/);
  });

  test('labels are optional maps: absent maps mean missing keys', () => {
    expect(reason('${.PVC.namespace}/${.PVC.labels.app}', { namespace: 'a', name: 'b', pvName: 'c' })).toMatch(/not set/);
  });

  test('a label named like an Object.prototype member is still "missing"', () => {
    expect(reason('${.PVC.namespace}/${.PVC.labels.constructor}')).toMatch(/label "constructor", which is not set/);
  });

  test('an empty value is an error, never an empty level', () => {
    expect(reason('${.PVC.namespace}/${.PVC.annotations.empty}')).toMatch(/annotation "empty" of the claim is empty/);
    expect(reason(DEFAULT_PATH_PATTERN, { ...ctx, name: '' })).toMatch(/claim name is empty/);
  });

  test('a value with "/" is rejected, not split', () => {
    const r = reason('${.PVC.namespace}/${.PVC.annotations.dir}', { ...ctx, annotations: { dir: '../../etc' } });
    expect(r).toMatch(/annotation "dir" of the claim is "..\/..\/etc", which contains "\/"/);
  });

  test.each(['..', '.'])('a value of "%s" alone is rejected', (dots) => {
    expect(reason('${.PVC.namespace}/${.PVC.annotations.dir}', { ...ctx, annotations: { dir: dots } })).toMatch(/would leave the directory/);
  });

  test('".." inside a larger name is harmless and kept', () => {
    expect(rendered('${.PVC.namespace}/${.PVC.annotations.dir}', { ...ctx, annotations: { dir: 'a..b' } })).toBe('team-a/a..b');
  });

  test('NUL and newlines in values are rejected', () => {
    expect(reason('${.PVC.namespace}/${.PVC.labels.app}', { ...ctx, labels: { app: 'a\u0000b' } })).toMatch(/control character/);
    expect(reason('${.PVC.namespace}/${.PVC.labels.app}', { ...ctx, labels: { app: 'a\nb' } })).toMatch(/control character/);
  });

  test('unicode values are kept as they are', () => {
    expect(rendered('${.PVC.namespace}/${.PVC.annotations.dir}', { ...ctx, annotations: { dir: 'données-ø' } })).toBe('team-a/données-ø');
  });

  test('a level over 255 bytes is rejected (counted in UTF-8 bytes)', () => {
    expect(reason('${.PVC.namespace}/${.PVC.annotations.dir}', { ...ctx, annotations: { dir: 'é'.repeat(128) } })).toMatch(/256 bytes long; the limit is 255/);
    expect(rendered('${.PVC.namespace}/${.PVC.annotations.dir}', { ...ctx, annotations: { dir: 'x'.repeat(255) } })).toHaveLength(262);
  });

  test('a path over 4096 bytes is rejected', () => {
    const pattern = `${'${.PVC.namespace}/'}${Array.from({ length: 17 }, () => '${.PVC.annotations.dir}').join('/')}`;
    expect(reason(pattern, { ...ctx, annotations: { dir: 'x'.repeat(250) } })).toMatch(/bytes; the limit is 4096/);
  });

  test.each([
    ['${.PVC.namespace}/${.PVC.name}', { namespace: 'archived-team' }, /"archived-team", which starts with "archived-"/],
    ['${.PVC.annotations.dir}/${.PV.name}', { annotations: { dir: 'archived-ns-db-pvc-1' } }, /"archived-ns-db-pvc-1", which starts with "archived-"/],
    ['archive${.PVC.annotations.dir}/${.PV.name}', { annotations: { dir: 'd-x' } }, /"archived-x", which starts with "archived-"/],
    ['${.PVC.annotations.dir}-${.PV.name}', { annotations: { dir: '.cdk8s-storage-unfinished' } }, /starts with "\.cdk8s-storage-"/],
  ])('a rendered first level with a reserved prefix is refused: %s', (pattern, values, message) => {
    expect(reason(pattern, { ...ctx, ...values })).toMatch(message);
  });

  test('a reserved prefix deeper than the first level is an ordinary name', () => {
    expect(rendered('${.PVC.namespace}/${.PVC.annotations.dir}', { ...ctx, annotations: { dir: 'archived-x' } })).toBe('team-a/archived-x');
  });

  test('hostile values in a reason are escaped and cut', () => {
    const r = reason('${.PVC.namespace}/${.PVC.annotations.dir}', { ...ctx, annotations: { dir: `\u001b[2J${'x'.repeat(500)}` } });
    expect(r).toContain('"\\u001b[2J');
    expect(r).not.toContain('\u001b');
    expect(r).not.toContain('x'.repeat(101));
  });

  test('an invalid pattern is a reason, not an exception', () => {
    expect(reason('/abs')).toMatch(/the StorageClass pathPattern is invalid: .*absolute/);
  });
});

describe('resolveUnderRoot', () => {
  test('joins under the root', () => {
    expect(resolveUnderRoot('/persistentvolumes', 'team-a/data')).toBe('/persistentvolumes/team-a/data');
    expect(resolveUnderRoot('/persistentvolumes/', 'x')).toBe('/persistentvolumes/x');
    expect(resolveUnderRoot('/', 'x')).toBe('/x');
  });

  test.each([
    ['..', /not inside/],
    ['../persistentvolumes2/x', /not inside/],
    ['a/../..', /not inside/],
    ['.', /not inside/],
    ['a/..', /not inside/],
    ['/etc', /non-empty relative path/],
    ['', /non-empty relative path/],
    ['a\u0000b', /without NUL/],
  ])('refuses %j', (rel, message) => {
    expect(() => resolveUnderRoot('/persistentvolumes', rel)).toThrow(message);
  });

  test('a sibling that shares the root as a string prefix is outside', () => {
    expect(() => resolveUnderRoot('/data', '../data-other/x')).toThrow(/not inside "\/data"/);
  });

  test('the root must be absolute', () => {
    expect(() => resolveUnderRoot('relative', 'x')).toThrow(/must be an absolute path/);
  });

  test('the whole path must stay below PATH_MAX', () => {
    expect(() => resolveUnderRoot('/r', Array.from({ length: 20 }, () => 'y'.repeat(250)).join('/'))).toThrow(/longer than 4095 bytes/);
  });
});

describe('properties: hostile values never escape the root', () => {
  const root = '/persistentvolumes';
  const hostile = fc.oneof(
    fc.constantFrom('..', '.', '/', '../..', '../../etc/passwd', '/etc', 'a/b', '\u0000', 'a\u0000b', '', ' ', '~', '\\..\\..', '..\\', 'x'.repeat(300), '%2e%2e', '.\u200b.', 'ü', '\u{1F600}'),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: fc.constantFrom('.', '/', '\\', '\u0000', 'a', 'é', '$', '{', '}'), maxLength: 300 }),
  );
  const context = fc.record({
    namespace: hostile,
    name: hostile,
    pvName: hostile,
    labels: fc.dictionary(fc.constantFrom('app', 'tier', 'x'), hostile),
    annotations: fc.dictionary(fc.constantFrom('dir', 'example.com/p', 'x'), hostile),
  });
  const patterns = fc.constantFrom(
    DEFAULT_PATH_PATTERN,
    '${.PVC.namespace}/${.PVC.name}',
    '${.PVC.namespace}/${.PVC.labels.app}/${.PVC.annotations.dir}',
    '${.PV.name}/${.PVC.annotations.example.com/p}',
    'v/${.PVC.namespace}/${.PVC.labels.x}${.PVC.annotations.x}',
  );

  test('render then resolve: inside the root with exactly the pattern\'s levels, or a reason', () => {
    let renderedCount = 0;
    fc.assert(fc.property(patterns, context, (pattern, c) => {
      const r = renderPath(pattern, c);
      if (!r.ok) return r.reason.length > 0;
      renderedCount++;
      const abs = resolveUnderRoot(root, r.relativePath);
      const levels = parsePathPattern(pattern).length;
      return abs.startsWith(`${root}/`)
        && path.posix.relative(root, abs) === r.relativePath
        && r.segments.length === levels
        && r.segments.every((s) => s !== '' && s !== '.' && s !== '..' && !s.includes('/') && !s.includes('\0'))
        && Buffer.byteLength(r.relativePath) <= MAX_PATH_BYTES;
    }), { numRuns: 3000 });
    // The generators must also produce usable names, or the property proves nothing.
    expect(renderedCount).toBeGreaterThan(100);
  });

  test('random patterns: valid ones render inside the root or give a reason; invalid ones never render', () => {
    const piece = fc.constantFrom('${.PVC.namespace}', '${.PVC.name}', '${.PV.name}', '${.PVC.labels.app}', '${.PVC.annotations.dir}',
      '/', '..', '.', '${', '}', '$', 'x', '\u0000', '${.PVC.bogus}', '//');
    fc.assert(fc.property(fc.array(piece, { maxLength: 8 }), context, (pieces, c) => {
      const pattern = pieces.join('');
      const valid = validatePathPattern(pattern).length === 0;
      const r = renderPath(pattern, c);
      if (!valid) return !r.ok;
      if (!r.ok) return true;
      return resolveUnderRoot(root, r.relativePath).startsWith(`${root}/`);
    }), { numRuns: 3000 });
  });

  test('resolveUnderRoot either returns a path strictly under the root or throws', () => {
    const rel = fc.string({ unit: fc.constantFrom('.', '/', 'a', '\u0000'), maxLength: 20 });
    fc.assert(fc.property(rel, (p) => {
      try {
        const abs = resolveUnderRoot(root, p);
        return abs.startsWith(`${root}/`) && abs.length > root.length + 1;
      } catch {
        return true;
      }
    }), { numRuns: 3000 });
  });
});

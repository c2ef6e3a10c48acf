import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bundleInto, ROOT } from './bundle-into';
import { writeNotices } from '../../projenrc/third-party-notices';

let tmp: string;
beforeEach(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-storage-notices-')); });
afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The innermost node_modules package directory of each bundled input. */
function packageDirsOf(metafile: string): string[] {
  const inputs = Object.keys(JSON.parse(fs.readFileSync(metafile, 'utf8')).inputs);
  const dirs = inputs.map((input) => /^(.*node_modules\/(?:@[^/]+\/)?[^/@][^/]*)\//.exec(input)?.[1]).filter((d): d is string => !!d);
  return [...new Set(dirs)].map((d) => path.join(ROOT, d));
}

test('every bundled package that has a license appears in THIRD_PARTY_NOTICES with its version, license and license texts', () => {
  const metafile = bundleInto(tmp);
  const out = path.join(tmp, 'THIRD_PARTY_NOTICES');
  const count = writeNotices(metafile, out, ROOT);
  const notices = fs.readFileSync(out, 'utf8');

  const dirs = packageDirsOf(metafile);
  expect(dirs.map((d) => path.relative(ROOT, d))).toEqual(expect.arrayContaining(['node_modules/@kubernetes/client-node', 'node_modules/prom-client']));
  expect(count).toBe(dirs.length);
  let licensed = 0;
  for (const dir of dirs) {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const licenseFiles = fs.readdirSync(dir).filter((f) => /^(licen[cs]e|copying|notice)/i.test(f));
    if (!pkg.license && !pkg.licenses && licenseFiles.length === 0) continue;
    licensed++;
    expect(notices).toContain(`\n${pkg.name} ${pkg.version}\n`);
    if (typeof pkg.license === 'string') expect(notices).toContain(`\n${pkg.name} ${pkg.version}\nLicense: ${pkg.license}\n`);
    for (const file of licenseFiles) {
      expect(notices).toContain(fs.readFileSync(path.join(dir, file), 'utf8').replace(/\r\n?/g, '\n').trimEnd());
    }
  }
  expect(licensed).toBeGreaterThan(0);
});

test('the innermost copy of a nested package is the one named, and old-style license fields are read', () => {
  const write = (rel: string, content: string) => {
    fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
    fs.writeFileSync(path.join(tmp, rel), content);
  };
  write('node_modules/a/package.json', JSON.stringify({ name: 'a', version: '1.0.0', license: 'MIT' }));
  write('node_modules/a/LICENSE', 'MIT text of a\r\n');
  write('node_modules/a/node_modules/@s/b/package.json', JSON.stringify({ name: '@s/b', version: '2.0.0', licenses: [{ type: 'ISC' }] }));
  write('node_modules/a/node_modules/@s/b/lib/package.json', JSON.stringify({ type: 'module' }));
  write('node_modules/@s/b/package.json', JSON.stringify({ name: '@s/b', version: '9.9.9', license: 'MIT' }));
  write('node_modules/c/package.json', JSON.stringify({ name: 'c', version: '3.0.0', license: { type: 'BSD-3-Clause' } }));
  write('meta.json', JSON.stringify({
    inputs: {
      'src/main.ts': {},
      'node_modules/a/index.js': {},
      'node_modules/a/node_modules/@s/b/lib/index.js': {},
      'node_modules/c/dist/c.js': {},
    },
  }));

  expect(writeNotices(path.join(tmp, 'meta.json'), path.join(tmp, 'out'), tmp)).toBe(3);
  const notices = fs.readFileSync(path.join(tmp, 'out'), 'utf8');
  expect(notices).toContain('\na 1.0.0\nLicense: MIT\n\n--- LICENSE ---\n\nMIT text of a\n');
  expect(notices).toContain('\n@s/b 2.0.0\nLicense: ISC\n\n(The package ships no license file');
  expect(notices).not.toContain('9.9.9');
  expect(notices).toContain('\nc 3.0.0\nLicense: BSD-3-Clause\n');
});

/**
 * The README and docs/ ship in the npm package, and are read there (on the registry's page,
 * in node_modules): every relative link they hold must reach a file the package contains.
 * What only the repository has (examples, benchmarks, tests) is linked by absolute URL, and
 * such a URL must name a path that exists in the repository.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { linksIn, rootDir, userDocs } from './markdown';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const repository: string = require(path.join(rootDir, 'package.json')).repository.url.replace(/^git\+/, '').replace(/\.git$/, '');
const REPO_PATH = new RegExp(`^${repository.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/(?:tree|blob)/main/([^#?]+)`);

/** Paths in the package `npm pack` would write, relative to the package root. */
function packedFiles(): Set<string> {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: rootDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const [pack] = JSON.parse(out) as { files: { path: string }[] }[];
  return new Set(pack.files.map((f) => f.path));
}

const packed = packedFiles();
const shipped = (p: string) => packed.has(p) || [...packed].some((f) => f.startsWith(`${p.replace(/\/$/, '')}/`));
const links = userDocs().flatMap((file) => linksIn(file).map((link) => ({ file, ...link })));

test('the README and every docs/*.md are in the package', () => {
  expect(userDocs().filter((f) => !packed.has(f))).toEqual([]);
});

test('every relative link of the README and docs/ reaches a file the package contains', () => {
  const relative = links.filter((l) => !/^[a-z]+:/.test(l.target) && !l.target.startsWith('#'));
  expect(relative.length).toBeGreaterThan(5);
  const missing = relative
    .map((l) => ({ ...l, resolved: path.posix.normalize(path.posix.join(path.posix.dirname(l.file), l.target.replace(/#.*$/, ''))) }))
    .filter((l) => !shipped(l.resolved))
    .map((l) => `${l.where}: ${l.target} (${l.resolved} is not in the package: link ${repository}/tree/main/${l.resolved} instead, or ship it)`);
  expect(missing).toEqual([]);
});

test('every link into the repository names a path that exists in it', () => {
  const missing = links
    .map((l) => ({ ...l, repoPath: REPO_PATH.exec(l.target)?.[1] }))
    .filter((l) => l.target.startsWith(repository) && (l.repoPath === undefined || !fs.existsSync(path.join(rootDir, l.repoPath))))
    .map((l) => `${l.where}: ${l.target}`);
  expect(missing).toEqual([]);
});

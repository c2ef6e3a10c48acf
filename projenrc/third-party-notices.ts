/**
 * THIRD_PARTY_NOTICES for the controller bundle: every npm package esbuild put into the
 * bundle (read from its metafile), with its version, its license and the license texts the
 * package ships. esbuild's legal comments only carry comments, which most packages lack, so
 * the bundle step writes this file next to the bundle; the package and the image ship it.
 *
 * Usage: ts-node projenrc/third-party-notices.ts <esbuild metafile> <output file>
 */
import * as fs from 'fs';
import * as path from 'path';

/** The part of an esbuild metafile this reads: input paths, relative to the working directory. */
export interface BundleMetafile {
  readonly inputs: Record<string, unknown>;
}

export interface BundledPackage {
  readonly name: string;
  readonly version: string;
  /** SPDX expression from package.json, or undefined when it names none. */
  readonly license?: string;
  readonly repository?: string;
  /** The package's license and notice files: file name and text. */
  readonly licenseFiles: ReadonlyArray<{ readonly file: string; readonly text: string }>;
}

const NODE_MODULES = 'node_modules/';
const LICENSE_FILE = /^(licen[cs]e|copying|notice)([-._].*)?$/i;

/**
 * The package directories the bundle's inputs come from: for a path with nested
 * node_modules, the innermost package, since that is the copy esbuild read.
 */
export function bundledPackageDirs(metafile: BundleMetafile, cwd: string): string[] {
  const dirs = new Set<string>();
  for (const input of Object.keys(metafile.inputs)) {
    const at = input.lastIndexOf(NODE_MODULES);
    if (at < 0) continue;
    const parts = input.slice(at + NODE_MODULES.length).split('/');
    const nameParts = parts[0].startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1);
    dirs.add(path.resolve(cwd, input.slice(0, at + NODE_MODULES.length), ...nameParts));
  }
  return [...dirs];
}

/** Old package.json files name their license as `{ type }` or as a `licenses` array. */
function licenseOf(pkg: Record<string, any>): string | undefined {
  const named = pkg.license ?? pkg.licenses;
  if (typeof named === 'string') return named;
  if (Array.isArray(named)) return named.map((l) => (typeof l === 'string' ? l : l?.type)).filter(Boolean).join(' OR ') || undefined;
  return typeof named?.type === 'string' ? named.type : undefined;
}

function repositoryOf(pkg: Record<string, any>): string | undefined {
  const repo = pkg.repository;
  return typeof repo === 'string' ? repo : typeof repo?.url === 'string' ? repo.url : undefined;
}

export function readBundledPackage(dir: string): BundledPackage {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  const licenseFiles = fs.readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && LICENSE_FILE.test(entry.name))
    .map((entry) => entry.name)
    .sort()
    .map((file) => ({ file, text: fs.readFileSync(path.join(dir, file), 'utf8').replace(/\r\n?/g, '\n').trimEnd() }));
  return { name: pkg.name, version: pkg.version, license: licenseOf(pkg), repository: repositoryOf(pkg), licenseFiles };
}

/** The heading a package has in the notices; also what a reader (or a test) searches for. */
export function noticeHeading(pkg: Pick<BundledPackage, 'name' | 'version'>): string {
  return `${pkg.name} ${pkg.version}`;
}

export function renderNotices(packages: readonly BundledPackage[]): string {
  const sorted = [...packages].sort((a, b) => a.name.localeCompare(b.name) || a.version.localeCompare(b.version));
  const rule = '='.repeat(80);
  const lines = [
    'THIRD-PARTY SOFTWARE NOTICES',
    '',
    `The cdk8s-storage controller bundle contains the following ${sorted.length} npm packages.`,
    'Each is listed below with its version, its license and the license texts it ships.',
    '',
    ...sorted.map((pkg) => `  ${noticeHeading(pkg)} (${pkg.license ?? 'no license named'})`),
  ];
  for (const pkg of sorted) {
    lines.push('', rule, noticeHeading(pkg), `License: ${pkg.license ?? 'none named in package.json'}`);
    if (pkg.repository) lines.push(`Repository: ${pkg.repository}`);
    if (pkg.licenseFiles.length === 0) lines.push('', '(The package ships no license file; its package.json names the license above.)');
    for (const { file, text } of pkg.licenseFiles) lines.push('', `--- ${file} ---`, '', text);
  }
  return `${lines.join('\n')}\n`;
}

/** Reads the metafile esbuild wrote from `cwd` and writes the notices. Returns the package count. */
export function writeNotices(metafilePath: string, outputPath: string, cwd: string = process.cwd()): number {
  const metafile: BundleMetafile = JSON.parse(fs.readFileSync(metafilePath, 'utf8'));
  const packages = bundledPackageDirs(metafile, cwd).map(readBundledPackage);
  fs.writeFileSync(outputPath, renderNotices(packages));
  return packages.length;
}

if (require.main === module) {
  const [metafilePath, outputPath] = process.argv.slice(2);
  if (!metafilePath || !outputPath) {
    process.stderr.write('usage: third-party-notices.ts <esbuild metafile> <output file>\n');
    process.exit(2);
  }
  const count = writeNotices(metafilePath, outputPath);
  process.stdout.write(`${outputPath}: ${count} bundled packages\n`);
}

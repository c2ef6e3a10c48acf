/**
 * The controller runs in e2e tests as the built bundle, the file the npm package
 * ships and the image runs. This makes sure it exists and is not older than the
 * sources it is built from, building it (`npx projen bundle`) once when needed.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const CONTROLLER_BUNDLE = path.join(REPO_ROOT, 'assets', 'runtime', 'main', 'index.js');
/** Source trees the bundle is built from. */
const SOURCES = [path.join(REPO_ROOT, 'src', 'runtime'), path.join(REPO_ROOT, 'src', 'contract')];

let checked = false;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      newest = Math.max(newest, newestMtime(p));
    } else if (entry.name.endsWith('.ts')) {
      newest = Math.max(newest, fs.statSync(p).mtimeMs);
    }
  }
  return newest;
}

function needsBuild(): string | undefined {
  if (!fs.existsSync(CONTROLLER_BUNDLE)) {
    return 'missing';
  }
  const built = fs.statSync(CONTROLLER_BUNDLE).mtimeMs;
  const sources = Math.max(...SOURCES.filter((d) => fs.existsSync(d)).map(newestMtime));
  return sources > built ? 'older than its sources' : undefined;
}

/**
 * Path of the controller bundle, built first if it is missing or stale (E2E_NO_BUNDLE_BUILD=1
 * only checks it exists). E2E_CONTROLLER_BUNDLE=<file> runs that bundle instead, as it is: a
 * benchmark's "before" subject built from an earlier commit.
 */
export function ensureControllerBundle(): string {
  const other = process.env.E2E_CONTROLLER_BUNDLE;
  if (other) {
    if (!fs.existsSync(other)) throw new Error(`E2E_CONTROLLER_BUNDLE=${other}: no such file`);
    return path.resolve(other);
  }
  if (checked) {
    return CONTROLLER_BUNDLE;
  }
  const reason = needsBuild();
  if (reason && !(process.env.E2E_NO_BUNDLE_BUILD === '1' && reason !== 'missing')) {
    process.stderr.write(`[e2e] controller bundle ${reason}: running npx projen bundle\n`);
    // flock: other test runs on this machine may want to build it at the same moment.
    const lock = path.join(REPO_ROOT, 'node_modules', '.cdk8s-storage-bundle.lock');
    const r = spawnSync('flock', [lock, 'npx', 'projen', 'bundle'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    if (r.error || r.status !== 0) {
      throw new Error(`npx projen bundle failed (exit ${r.status}): ${r.error?.message ?? ''}${r.stderr}${r.stdout}`);
    }
  }
  if (!fs.existsSync(CONTROLLER_BUNDLE)) {
    throw new Error(`the controller bundle ${CONTROLLER_BUNDLE} does not exist: run npx projen bundle`);
  }
  checked = true;
  return CONTROLLER_BUNDLE;
}

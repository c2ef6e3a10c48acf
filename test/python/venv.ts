/**
 * The Python side of the binding test: what the wheel requires, and a virtualenv that has it.
 *
 * The virtualenv holds the wheel's dependencies pinned to the versions the TypeScript side
 * runs (cdk8s, constructs, cdk8s-plus-28 from node_modules; the jsii runtime at the version of
 * the jsii-pacmak that built the wheel), so both apps synthesize with the same libraries. It
 * is made once and cached outside the repository under
 * `${XDG_CACHE_HOME:-~/.cache}/cdk8s-storage/python-venv-<key>`, the key being a hash of the
 * Python version and the requirements, so a dependency change makes a new one.
 */
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const rootDir = path.resolve(__dirname, '..', '..');

/** The npm package whose installed version a Python requirement is pinned to. */
const NPM_TWIN: Record<string, string> = {
  'cdk8s': 'cdk8s',
  'constructs': 'constructs',
  'cdk8s-plus-28': 'cdk8s-plus-28',
  // The Python jsii runtime is released in step with jsii-pacmak, which wrote the wheel.
  'jsii': 'jsii-pacmak',
};

function run(file: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(file, args, { cwd: rootDir, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
}

/** The one wheel `jsii-pacmak --target python` wrote to dist/python/. */
export function builtWheel(): string {
  const dir = path.join(rootDir, 'dist', 'python');
  const wheels = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.whl')) : [];
  if (wheels.length !== 1) {
    throw new Error(`expected one wheel in dist/python/, found ${wheels.length} (${wheels.join(', ')}): run \`npx projen package:python\``);
  }
  return path.join(dir, wheels[0]);
}

/** The wheel's `Requires-Dist` lines, e.g. `cdk8s <3.0.0,>=2.70.106`. */
export function wheelRequirements(wheel: string): string[] {
  const script = [
    'import sys, zipfile',
    'z = zipfile.ZipFile(sys.argv[1])',
    'meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))',
    'print("\\n".join(l[len("Requires-Dist: "):] for l in z.read(meta).decode().splitlines() if l.startswith("Requires-Dist: ")))',
  ].join('\n');
  return run('python3', ['-c', script, wheel]).split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

/** `name==version` for each requirement with an npm twin; the others as the wheel states them. */
export function pinnedRequirements(requirements: readonly string[]): string[] {
  return requirements.map((requirement) => {
    const name = /^[A-Za-z0-9._-]+/.exec(requirement)?.[0] ?? requirement;
    const twin = NPM_TWIN[name];
    if (!twin) return requirement;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const version: string = require(path.join(rootDir, 'node_modules', twin, 'package.json')).version;
    return `${name}==${version}`;
  });
}

/**
 * The python executable of a cached virtualenv with the wheel's dependencies installed.
 * pip is given the pins and the wheel's own ranges together, so a pin outside a range
 * fails here instead of testing something a user could not install.
 */
export function cachedVirtualenv(requirements: readonly string[]): string {
  const pins = pinnedRequirements(requirements);
  const pythonVersion = run('python3', ['-c', 'import sys; print(sys.version)']).trim();
  const key = createHash('sha256').update(JSON.stringify({ pythonVersion, requirements, pins })).digest('hex').slice(0, 16);
  const cacheRoot = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'cdk8s-storage');
  const venv = path.join(cacheRoot, `python-venv-${key}`);
  const python = path.join(venv, 'bin', 'python');
  if (fs.existsSync(python)) return python;

  // Built beside its final place and renamed into it, so a run that stops halfway leaves no
  // half-made virtualenv under the final name, and two runs at once each finish their own.
  fs.mkdirSync(cacheRoot, { recursive: true });
  const work = fs.mkdtempSync(path.join(cacheRoot, `.python-venv-${key}.`));
  try {
    run('python3', ['-m', 'venv', work]);
    run(path.join(work, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...pins, ...requirements]);
    try {
      fs.renameSync(work, venv);
    } catch (error) {
      if (!fs.existsSync(python)) throw error; // another run got there first otherwise
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  return python;
}

/**
 * What the image tests share: podman with a configuration that runs containers on these
 * machines, and the build script.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const VERSION: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;

// podman's default ulimits raise nofile and nproc above this sandbox's hard limits, which
// runc may not do without CAP_SYS_RESOURCE; the host's limits are inherited instead. runc
// is named because it is the runtime known to work here.
const CONTAINERS_CONF = '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n';

let env: NodeJS.ProcessEnv | undefined;

/** The environment podman and the build script run with (its own containers.conf). */
export function podmanEnv(): NodeJS.ProcessEnv {
  if (!env) {
    const confDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-storage-image-test-'));
    fs.writeFileSync(path.join(confDir, 'containers.conf'), CONTAINERS_CONF);
    env = { ...process.env, CONTAINERS_CONF: path.join(confDir, 'containers.conf') };
  }
  return env;
}

export interface Result {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function podman(...args: string[]): Result {
  const r = spawnSync('podman', args, { env: podmanEnv(), encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a shell command in the image as its own user, with no network; its standard output. */
export function inImage(image: string, command: string): string {
  const r = podman('run', '--rm', '--network=none', '--entrypoint', 'sh', image, '-c', command);
  if (r.status !== 0) throw new Error(`sh -c ${JSON.stringify(command)} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** Runs scripts/build-image.sh with these options; the image reference it prints last. */
export function buildImage(...options: string[]): string {
  // A cold build (Debian packages and Node.js fetched, base made) takes a few minutes.
  const build = spawnSync('bash', [path.join(ROOT, 'scripts', 'build-image.sh'), ...options], {
    cwd: ROOT, env: podmanEnv(), encoding: 'utf8', timeout: 20 * 60_000,
  });
  if (build.status !== 0) throw new Error(`build-image.sh ${options.join(' ')} exited ${build.status}:\n${build.stderr}`);
  return build.stdout.trim().split('\n').pop()!;
}

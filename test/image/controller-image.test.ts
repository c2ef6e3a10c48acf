/**
 * The controller image: built by scripts/build-image.sh from the Dockerfile on the base it
 * makes from Debian packages (the base every build here uses, since no container registry
 * is reachable; cached, so a warm build takes seconds), then run with podman.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const VERSION: string = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version;
const NOTICES = path.join(ROOT, 'assets', 'runtime', 'main', 'THIRD_PARTY_NOTICES');

// podman's default ulimits raise nofile and nproc above this sandbox's hard limits, which
// runc may not do without CAP_SYS_RESOURCE; the host's limits are inherited instead. runc
// is named because it is the runtime known to work here.
const CONTAINERS_CONF = '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n';

let image: string;
let env: NodeJS.ProcessEnv;

function podman(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('podman', args, { env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a shell command in the image as its own user. */
function inImage(command: string): string {
  const r = podman('run', '--rm', '--entrypoint', 'sh', image, '-c', command);
  if (r.status !== 0) throw new Error(`sh -c ${JSON.stringify(command)} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

beforeAll(() => {
  const confDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-storage-image-test-'));
  fs.writeFileSync(path.join(confDir, 'containers.conf'), CONTAINERS_CONF);
  env = { ...process.env, CONTAINERS_CONF: path.join(confDir, 'containers.conf') };

  // A cold build (Debian packages and Node.js fetched, base made) takes about two minutes.
  const build = spawnSync('bash', [path.join(ROOT, 'scripts', 'build-image.sh'), '--debian-base'], {
    cwd: ROOT, env, encoding: 'utf8', timeout: 20 * 60_000,
  });
  if (build.status !== 0) throw new Error(`build-image.sh exited ${build.status}:\n${build.stderr}`);
  image = build.stdout.trim().split('\n').pop()!;
}, 20 * 60_000);

test('the build tags the image cdk8s-storage-controller:<package version> and labels it with that version', () => {
  expect(image).toBe(`cdk8s-storage-controller:${VERSION}`);
  const labels = JSON.parse(podman('image', 'inspect', '--format', '{{json .Config.Labels}}', image).stdout);
  expect(labels['org.opencontainers.image.version']).toBe(VERSION);
});

test('podman run <image> --help prints the controller usage and exits 0', () => {
  const r = podman('run', '--rm', image, '--help');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^Usage: cdk8s-storage-controller <command>/);
  expect(r.stdout).toContain('Flags of "nfs":');
  expect(r.stdout).toContain('Flags of "local":');
});

test('the image runs as uid 1000 with Node.js >= 20 on PATH', () => {
  const [uid, nodeVersion] = inImage('id -u; node --version').trim().split('\n');
  expect(uid).toBe('1000');
  expect(Number(/^v(\d+)\./.exec(nodeVersion)![1])).toBeGreaterThanOrEqual(20);
});

test('the image has the block cleaners\' tools (wipefs, blkdiscard, shred)', () => {
  const found = inImage('for tool in wipefs blkdiscard shred; do command -v "$tool" || echo "missing $tool"; done');
  expect(found).not.toContain('missing');
  expect(found.trim().split('\n')).toHaveLength(3);
});

test('the image carries the bundle\'s THIRD_PARTY_NOTICES, the project license and the Node.js license', () => {
  expect(inImage('cat /app/THIRD_PARTY_NOTICES')).toBe(fs.readFileSync(NOTICES, 'utf8'));
  expect(inImage('cat /app/LICENSE')).toBe(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8'));
  expect(inImage('head -n 1 /usr/local/share/doc/node/LICENSE')).toMatch(/Node\.js is licensed/);
});

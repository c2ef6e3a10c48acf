/**
 * The controller image: built by scripts/build-image.sh from the Dockerfile on the base it
 * makes from Debian packages (the base every build here uses, since no container registry
 * is reachable; cached, so a warm build takes seconds), then run with podman.
 */
import * as fs from 'fs';
import * as path from 'path';
import { buildImage, podman, ROOT, VERSION, inImage as inAnImage } from './podman';

const NOTICES = path.join(ROOT, 'assets', 'runtime', 'main', 'THIRD_PARTY_NOTICES');

let image: string;

/** Runs a shell command in the image as its own user. */
const inImage = (command: string) => inAnImage(image, command);

beforeAll(() => {
  image = buildImage('--debian-base');
}, 20 * 60_000);

test('the build tags the image cdk8s-storage-controller:<package version> and labels it with that version', () => {
  expect(image).toBe(`cdk8s-storage-controller:${VERSION}`);
  const labels = JSON.parse(podman('image', 'inspect', '--format', '{{json .Config.Labels}}', image).stdout);
  expect(labels['org.opencontainers.image.version']).toBe(VERSION);
  // What it was built from, for harnesses that keep images between runs.
  expect(labels['cdk8s-storage.dev/inputs']).toMatch(/^[0-9a-f]{16}$/);
});

test('node starts with a 2 MiB young generation (the memory figures of docs/controller.md assume it); the --help run shows this node takes the flag', () => {
  const entrypoint = JSON.parse(podman('image', 'inspect', '--format', '{{json .Config.Entrypoint}}', image).stdout);
  expect(entrypoint).toEqual(['node', '--max-semi-space-size=2', '/app/index.js']);
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

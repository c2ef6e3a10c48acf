/**
 * The in-cluster NFS server image: built by scripts/build-image.sh --server (the controller
 * image's /app on a base made from Debian packages with nfs-ganesha, dbus and the
 * filesystem tools), then run with podman, with no network but the container's own.
 *
 * Besides the tools being there, it runs the nfs-server command with the args, environment,
 * security context and writable directories of a synthesized StatefulSet until /readyz
 * answers, and checks the privileges the constructs give the server pod: the capability set
 * of the modes that mount nothing runs the bus and ganesha on a read-only root and serves a
 * file written through NFS; loop images mount and grow in a privileged container, and cannot
 * be set up in an unprivileged one even with CAP_SYS_ADMIN and the host's /dev.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdk8s';
import { buildImage, inImage, podman, ROOT, VERSION } from './podman';
import { NfsProvisioner, NfsQuota, NfsServer } from '../../src';

let image: string;
let work: string;

beforeAll(() => {
  image = buildImage('--debian-base', '--server');
  // The NFS client (libnfs: the kernel here has no NFS client) that writes through the server.
  const apt = spawnSync('bash', [path.join(ROOT, 'scripts', 'ensure-apt-packages.sh'), 'libnfs-utils'], { encoding: 'utf8', timeout: 10 * 60_000 });
  if (apt.status !== 0) throw new Error(`installing libnfs-utils failed: ${apt.stderr}`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-storage-server-image-'));
}, 30 * 60_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the build tags the image cdk8s-storage-nfs-server:<package version>, labels it, and prints its size', () => {
  expect(image).toBe(`cdk8s-storage-nfs-server:${VERSION}`);
  const inspect = JSON.parse(podman('image', 'inspect', image).stdout)[0];
  expect(inspect.Config.Labels['org.opencontainers.image.title']).toBe('cdk8s-storage-nfs-server');
  expect(inspect.Config.Labels['org.opencontainers.image.version']).toBe(VERSION);
  // The figure docs/image.md quotes.
  console.log(`${image}: ${Math.round(inspect.Size / 1e6)} MB`);
});

test('ganesha, the bus and mkfs.xfs run in it', () => {
  expect(inImage(image, 'ganesha.nfsd -v')).toMatch(/NFS-Ganesha Release = V\d+\.\d+/);
  expect(inImage(image, 'dbus-daemon --version')).toMatch(/^D-Bus Message Bus Daemon \d+\.\d+/);
  expect(inImage(image, 'mkfs.xfs -V')).toMatch(/^mkfs\.xfs version \d+\.\d+/);
  expect(inImage(image, 'ls /usr/lib/x86_64-linux-gnu/ganesha/')).toContain('libfsalvfs.so');
});

test('it has every tool the server runs', () => {
  const tools = ['mount', 'umount', 'losetup', 'findmnt', 'fallocate', 'truncate', 'chattr', 'xfs_growfs', 'xfs_quota', 'dbus-send', 'node'];
  const found = inImage(image, `for tool in ${tools.join(' ')}; do command -v "$tool" >/dev/null || echo "missing $tool"; done`);
  expect(found).toBe('');
});

test('it has /etc/mtab, the mount table ganesha\'s VFS backend reads to find each export\'s filesystem', () => {
  // The image's own link: where an image has none, podman adds one to the container pointing
  // at /proc/mounts, but containerd (a kubelet's pods) adds nothing, and every export fails.
  expect(inImage(image, 'readlink /etc/mtab').trim()).toBe('../proc/self/mounts');
  // Read through the link: the container's own mounts, its root among them.
  expect(inImage(image, 'cat /etc/mtab')).toMatch(/^\S+ \/ /m);
});

test('it runs the controller bundle as root', () => {
  expect(inImage(image, 'id -u').trim()).toBe('0');
  expect(inImage(image, 'sha256sum < /app/index.js').split(' ')[0])
    .toBe(spawnSync('sha256sum', [path.join(ROOT, 'assets', 'runtime', 'main', 'index.js')], { encoding: 'utf8' }).stdout.split(' ')[0]);
  const help = podman('run', '--rm', '--network=none', image, '--help');
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/^Usage: cdk8s-storage-controller <command>/);
});

/**
 * A read-only root with writable /run and /tmp, as the pod has them (emptyDirs). podman's
 * --read-only would also make /var/tmp writable: not here.
 */
const READ_ONLY_ROOT = ['--read-only', '--read-only-tmpfs=false', '--tmpfs', '/run', '--tmpfs', '/tmp'];

/** The server container the constructs write for a quota mode. */
function serverContainer(quota: NfsQuota): any {
  const chart = Testing.chart();
  new NfsProvisioner(chart, 'nfs', { server: NfsServer.inCluster({ quota }), namespace: 'storage' });
  const sts = Testing.synth(chart).find((o) => o.kind === 'StatefulSet');
  return sts.spec.template.spec.containers[0];
}

/** The capabilities the constructs give a server pod of this quota mode. */
function capabilitiesOf(quota: NfsQuota): string[] {
  const security = serverContainer(quota).securityContext;
  expect(security).toMatchObject({ privileged: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  return security.capabilities.add;
}

/** podman options for a container's securityContext (only the fields the constructs write). */
function podmanSecurity(security: any): string[] {
  expect(security).toMatchObject({ runAsUser: 0, readOnlyRootFilesystem: true });
  if (security.privileged) return ['--user', '0', '--privileged'];
  return ['--user', '0', '--cap-drop=all', `--cap-add=${security.capabilities.add.join(',')}`,
    ...security.allowPrivilegeEscalation === false ? ['--security-opt', 'no-new-privileges'] : []];
}

/** The HTTP status of GET url from inside a container's network namespace, 0 if none. */
function statusInside(pid: string, url: string): number {
  const r = spawnSync('nsenter', ['-t', pid, '-n', 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', url], { encoding: 'utf8' });
  return Number(r.stdout) || 0;
}

test.each([NfsQuota.LOOP_IMAGE, NfsQuota.NONE])(
  'quota %s: the nfs-server command runs as the synthesized StatefulSet says, answers /readyz, and stops on SIGTERM with status 0',
  (quota) => {
    const c = serverContainer(quota);
    const data = path.join(work, `server-${quota}`);
    fs.mkdirSync(data);
    const kubeconfig = path.join(work, 'kubeconfig');
    // No API server here: the flag the command takes outside a cluster points at a closed port
    // (the supervisor serves without it; events are dropped).
    fs.writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config', 'current-context: none',
      'clusters: [{name: none, cluster: {server: "https://127.0.0.1:1"}}]',
      'users: [{name: none, user: {token: none}}]',
      'contexts: [{name: none, context: {cluster: none, user: none}}]', '',
    ].join('\n'));
    expect(c.volumeMounts.map((m: any) => m.mountPath)).toEqual(['/data', '/run', '/tmp']);
    const env = (c.env as any[]).flatMap((e) => ['-e', `${e.name}=${e.name === 'POD_NAMESPACE' ? 'storage' : 'nfs-0'}`]);
    const run = podman('run', '-d', '--network=none', ...READ_ONLY_ROOT, '-v', `${data}:/data`, '-v', `${kubeconfig}:/kubeconfig:ro`,
      ...podmanSecurity(c.securityContext), ...env, image, ...c.args, '--kubeconfig=/kubeconfig');
    expect(run.stderr).toBe('');
    const id = run.stdout.trim();
    try {
      const pid = podman('inspect', '--format', '{{.State.Pid}}', id).stdout.trim();
      const port = c.ports.find((p: any) => p.name === 'http').containerPort;
      // Ready once the bus, the volumes and ganesha are up (no time limit but the test's).
      while (statusInside(pid, `http://127.0.0.1:${port}${c.readinessProbe.httpGet.path}`) !== 200) {
        expect(podman('inspect', '--format', '{{.State.Running}}', id).stdout.trim()).toBe('true');
      }
      expect(statusInside(pid, `http://127.0.0.1:${port}${c.livenessProbe.httpGet.path}`)).toBe(200);
      expect(podman('stop', '-t', '60', id).status).toBe(0);
      expect(podman('inspect', '--format', '{{.State.ExitCode}}', id).stdout.trim()).toBe('0');
      expect(fs.readdirSync(data)).toEqual(expect.arrayContaining(['volumes', 'mounts', 'exports.d', 'ganesha']));
    } finally {
      podman('rm', '-f', '-t', '0', id);
    }
  }, 180_000);

test('with only the capabilities of a mode without loop devices, on a read-only root, the bus and ganesha serve a file written through NFS', () => {
  const data = path.join(work, 'data');
  fs.mkdirSync(path.join(data, 'plain'), { recursive: true });
  const start = [
    'set -e',
    'mkdir -p /run/dbus /run/cdk8s-storage /data/ganesha/recovery',
    'cat > /run/cdk8s-storage/ganesha.conf <<\'CONF\'',
    'NFS_CORE_PARAM { Protocols = 4; NFS_Port = 2049; Enable_NLM = false; Enable_RQUOTA = false; Enable_UDP = false; }',
    'NFSV4 { Graceless = true; RecoveryRoot = /data/ganesha/recovery; }',
    'EXPORT { Export_Id = 101; Path = /data/plain; Pseudo = /plain; Access_Type = RW; Squash = No_Root_Squash; SecType = sys; Protocols = 4; FSAL { Name = VFS; } }',
    'CONF',
    // The bus first: ganesha never attaches to a bus that comes up after it.
    'dbus-daemon --system --fork',
    'while [ ! -S /run/dbus/system_bus_socket ]; do sleep 0.1; done',
    'exec ganesha.nfsd -F -f /run/cdk8s-storage/ganesha.conf -L /dev/stderr -p /run/cdk8s-storage/ganesha.pid -N NIV_EVENT',
  ].join('\n');
  const run = podman('run', '-d', '--network=none', ...READ_ONLY_ROOT, '-v', `${data}:/data`,
    '--user', '0', '--cap-drop=all', `--cap-add=${capabilitiesOf(NfsQuota.NONE).join(',')}`, '--security-opt', 'no-new-privileges',
    '--entrypoint', 'sh', image, '-c', start);
  expect(run.stderr).toBe('');
  const id = run.stdout.trim();
  try {
    // Ready when ganesha answers on the bus with the export (no time limit but the test's).
    let exports = '';
    while (!/uint16 101/.test(exports)) {
      expect(podman('inspect', '--format', '{{.State.Running}}', id).stdout.trim()).toBe('true');
      exports = podman('exec', id, 'dbus-send', '--system', '--print-reply', '--dest=org.ganesha.nfsd',
        '/org/ganesha/nfsd/ExportMgr', 'org.ganesha.nfsd.exportmgr.ShowExports').stdout;
    }
    const pid = podman('inspect', '--format', '{{.State.Pid}}', id).stdout.trim();
    fs.writeFileSync(path.join(work, 'hello.txt'), 'hello through NFS\n');
    const copy = spawnSync('nsenter', ['-t', pid, '-n', 'nfs-cp', path.join(work, 'hello.txt'), 'nfs://127.0.0.1/plain/hello.txt?version=4'],
      { encoding: 'utf8', timeout: 60_000 });
    expect(copy.stderr).toBe('');
    expect(copy.status).toBe(0);
    expect(fs.readFileSync(path.join(data, 'plain', 'hello.txt'), 'utf8')).toBe('hello through NFS\n');
    expect(fs.statSync(path.join(data, 'plain', 'hello.txt')).uid).toBe(0);
  } finally {
    podman('rm', '-f', '-t', '0', id);
  }
}, 120_000);

const LOOP_SCRIPT = [
  'set -e',
  'truncate -s 300M /data/vol.img',
  'mkfs.xfs -q -f /data/vol.img',
  'mkdir -p /data/mnt',
  'mount -o loop /data/vol.img /data/mnt',
  'trap "umount /data/mnt" EXIT',
  'findmnt -n -o FSTYPE /data/mnt',
  'truncate -s 400M /data/vol.img',
  'losetup -c "$(findmnt -n -o SOURCE /data/mnt)"',
  'xfs_growfs /data/mnt >/dev/null',
  'df -B1M --output=size /data/mnt | tail -n 1',
].join('\n');

function loopRun(name: string, ...privileges: string[]) {
  const data = path.join(work, name);
  fs.mkdirSync(data);
  return podman('run', '--rm', '--network=none', ...READ_ONLY_ROOT, '-v', `${data}:/data`,
    ...privileges, '--entrypoint', 'sh', image, '-c', LOOP_SCRIPT);
}

test('loop images: a privileged container mounts an XFS image with -o loop and grows it online', () => {
  const r = loopRun('privileged', '--privileged');
  expect(r.stderr).toBe('');
  const [fstype, sizeMiB] = r.stdout.trim().split('\n').map((l) => l.trim());
  expect(fstype).toBe('xfs');
  // 400 MiB less the XFS log and metadata.
  expect(Number(sizeMiB)).toBeGreaterThan(300);
  expect(Number(sizeMiB)).toBeLessThanOrEqual(400);
});

test('loop images: an unprivileged container cannot set up a loop device, even with SYS_ADMIN and the host\'s /dev', () => {
  const r = loopRun('unprivileged', '--cap-add=SYS_ADMIN', '-v', '/dev:/dev');
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/failed to setup loop device/);
});

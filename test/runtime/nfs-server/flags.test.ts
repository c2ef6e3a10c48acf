import { ENV, NFS_SERVER_FLAGS } from '../../../src/contract/controller-config';
import { ConfigError } from '../../../src/runtime/core/flags';
import { parseNfsServerConfig } from '../../../src/runtime/nfs-server/flags';

const required = [
  `--${NFS_SERVER_FLAGS.provisionerName}=example.com/nfs-server`,
  `--${NFS_SERVER_FLAGS.serviceName}=nfs-server`,
];
const env = { [ENV.podNamespace]: 'storage', [ENV.podName]: 'nfs-server-0' };

/** The message of the one-line ConfigError a parse throws. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).not.toContain('\n');
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

test('reads the required flags and applies the defaults, the shared ones as the nfs command does', () => {
  const config = parseNfsServerConfig(required, env);
  expect(config).toMatchObject({
    provisionerName: 'example.com/nfs-server',
    serviceName: 'nfs-server',
    namespace: 'storage',
    dataDir: '/data',
    quota: 'loop-image',
    preallocate: false,
    ganeshaConfigDir: '/run/cdk8s-storage',
    nfsPort: 2049,
    httpPort: 8080,
    workers: 16,
    usageIntervalSeconds: 60,
    leaderElection: { enabled: true, leaseName: 'example.com-nfs-server', namespace: 'storage' },
  });
});

test('leads under the pod name alone, so a restarted container takes its Lease back at once', () => {
  const first = parseNfsServerConfig(required, env);
  const restarted = parseNfsServerConfig(required, env);
  expect(first.leaderElection).toMatchObject({ enabled: true, identity: 'nfs-server-0' });
  expect(restarted.leaderElection).toEqual(first.leaderElection);
  // Outside a pod there is no name to share: the random suffix keeps two processes apart.
  const outside = parseNfsServerConfig(required, { [ENV.podNamespace]: 'storage' });
  expect(outside.leaderElection.enabled && outside.leaderElection.identity).toMatch(/_[0-9a-f]{8}$/);
});

test('reads every optional flag', () => {
  const config = parseNfsServerConfig([...required,
    `--${NFS_SERVER_FLAGS.dataDir}=/srv/backing/`,
    `--${NFS_SERVER_FLAGS.quota}=none`,
    `--${NFS_SERVER_FLAGS.preallocate}`,
    `--${NFS_SERVER_FLAGS.ganeshaConfigDir}=/run/g`,
    `--${NFS_SERVER_FLAGS.nfsPort}=12049`,
    `--${NFS_SERVER_FLAGS.leaderElect}=false`,
    `--${NFS_SERVER_FLAGS.httpPort}=0`,
    `--${NFS_SERVER_FLAGS.workers}=2`,
    `--${NFS_SERVER_FLAGS.usageInterval}=5`], env);
  expect(config).toMatchObject({
    dataDir: '/srv/backing',
    quota: 'none',
    preallocate: true,
    ganeshaConfigDir: '/run/g',
    nfsPort: 12049,
    leaderElection: { enabled: false },
    httpPort: 0,
    workers: 2,
    usageIntervalSeconds: 5,
  });
});

test.each([
  [[`--${NFS_SERVER_FLAGS.quota}=ext4`], env, /--quota="ext4" is not a quota mode: use one of loop-image, xfs-project, none/],
  [[`--${NFS_SERVER_FLAGS.dataDir}=data`], env, /--data-dir="data" must be an absolute path/],
  [[`--${NFS_SERVER_FLAGS.serviceName}=NFS.Server`], env, /--service-name="NFS.Server" is not a Service name/],
  [[`--${NFS_SERVER_FLAGS.workers}=0`], env, /--workers=0 is out of range/],
  [[`--${NFS_SERVER_FLAGS.nfsPort}=0`], env, /--nfs-port=0 is not a port: use 1-65535/],
  [[`--${NFS_SERVER_FLAGS.nfsPort}=65536`], env, /--nfs-port=65536 is not a port: use 1-65535/],
  [[], {}, /POD_NAMESPACE environment variable must name the namespace/],
  [['--nfs-server=10.0.0.5'], env, /unknown flag --nfs-server/],
])('refuses %j', (extra, environment, message) => {
  expect(errorOf(() => parseNfsServerConfig([...required, ...extra], environment))).toMatch(message);
});

test('the service name is required', () => {
  expect(errorOf(() => parseNfsServerConfig([required[0]], env))).toMatch(/missing required flag --service-name/);
});

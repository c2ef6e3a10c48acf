import { ENV, NFS_FLAGS } from '../../../src/contract/controller-config';
import { ConfigError, describeFlags, parseFlags } from '../../../src/runtime/core/flags';
import { parseNfsConfig } from '../../../src/runtime/nfs/flags';

const required = [
  `--${NFS_FLAGS.provisionerName}=example.com/nfs`,
  `--${NFS_FLAGS.server}=10.0.0.5`,
  `--${NFS_FLAGS.path}=/exports/k8s/`,
  `--${NFS_FLAGS.root}=/persistentvolumes`,
];
const env = { [ENV.podNamespace]: 'storage', [ENV.podName]: 'nfs-abc' };

/** The error a parse throws, checked to be a one-line ConfigError. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConfigError');
}

describe('parseNfsConfig', () => {
  test('reads the required flags and applies defaults', () => {
    const config = parseNfsConfig(required, env);
    expect(config).toMatchObject({
      provisionerName: 'example.com/nfs',
      server: '10.0.0.5',
      exportPath: '/exports/k8s',
      root: '/persistentvolumes',
      httpPort: 8080,
      workers: 16,
      usageIntervalSeconds: 60,
      logLevel: 'info',
      kubeconfig: undefined,
      leaderElection: { enabled: true, leaseName: 'example.com-nfs', namespace: 'storage' },
    });
    expect(config.leaderElection.enabled && config.leaderElection.identity).toMatch(/^nfs-abc_[0-9a-f]{8}$/);
  });

  test('reads every optional flag', () => {
    const config = parseNfsConfig([...required,
      `--${NFS_FLAGS.leaderElect}=true`,
      `--${NFS_FLAGS.leaseName}=my-lease`,
      `--${NFS_FLAGS.leaseNamespace}=other`,
      `--${NFS_FLAGS.httpPort}=9090`,
      `--${NFS_FLAGS.workers}=64`,
      `--${NFS_FLAGS.usageInterval}=0`,
      `--${NFS_FLAGS.logLevel}=warn`,
      '--kubeconfig=/tmp/kc'], {});
    expect(config).toMatchObject({
      httpPort: 9090,
      workers: 64,
      usageIntervalSeconds: 0,
      logLevel: 'warn',
      kubeconfig: '/tmp/kc',
      leaderElection: { enabled: true, leaseName: 'my-lease', namespace: 'other' },
    });
  });

  test('an appended flag overrides an earlier one (how a test points --root elsewhere)', () => {
    expect(parseNfsConfig([...required, '--root=/tmp/x'], env).root).toBe('/tmp/x');
  });

  test('leader election can be turned off, and then needs no namespace', () => {
    expect(parseNfsConfig([...required, `--${NFS_FLAGS.leaderElect}=false`], {}).leaderElection).toEqual({ enabled: false });
  });

  test('the root export path is kept as "/"', () => {
    expect(parseNfsConfig([...required, `--${NFS_FLAGS.path}=/`], env).exportPath).toBe('/');
  });

  test.each(Object.values({
    provisionerName: NFS_FLAGS.provisionerName,
    server: NFS_FLAGS.server,
    path: NFS_FLAGS.path,
    root: NFS_FLAGS.root,
  }))('a missing --%s stops with a message naming it', (flag) => {
    const args = required.filter((a) => !a.startsWith(`--${flag}=`));
    expect(errorOf(() => parseNfsConfig(args, env))).toMatch(new RegExp(`^missing required flag --${flag} `));
  });

  test('an unknown flag stops with a message naming it', () => {
    expect(errorOf(() => parseNfsConfig([...required, '--nfs-sever=x'], env))).toMatch(/^unknown flag --nfs-sever; known flags: --provisioner-name/);
  });

  test.each([
    [[`--${NFS_FLAGS.provisionerName}=Not A Name`], /--provisioner-name="Not A Name" is not a valid provisioner name/],
    [[`--${NFS_FLAGS.server}=host/path`], /--nfs-server="host\/path" is not a host name/],
    [[`--${NFS_FLAGS.path}=exports`], /--nfs-path="exports" must be an absolute path/],
    [[`--${NFS_FLAGS.root}=/a/../b`], /--root="\/a\/..\/b" may not contain/],
    [[`--${NFS_FLAGS.httpPort}=70000`], /--http-port=70000 is not a port/],
    [[`--${NFS_FLAGS.httpPort}=eighty`], /flag --http-port must be an integer, got "eighty"/],
    [[`--${NFS_FLAGS.workers}=0`], /--workers=0 is out of range/],
    [[`--${NFS_FLAGS.usageInterval}=-1`], /--usage-interval-seconds=-1 is out of range: use 0 \(off\) to 86400/],
    [[`--${NFS_FLAGS.usageInterval}=86401`], /--usage-interval-seconds=86401 is out of range/],
    [[`--${NFS_FLAGS.leaderElect}=yes`], /flag --leader-elect must be true or false, got "yes"/],
    [[`--${NFS_FLAGS.leaseName}=Bad_Lease`], /not a valid Lease name/],
    [['positional'], /unexpected argument "positional"/],
    [['--kubeconfig'], /flag --kubeconfig needs a value/],
    [[`--${NFS_FLAGS.logLevel}=INFO`], /--log-level="INFO" is not a log level: use debug, info, warn, error/],
  ])('rejects %j', (extra, expected) => {
    expect(errorOf(() => parseNfsConfig([...required, ...extra], env))).toMatch(expected);
  });

  test('leader election without a namespace says how to fix it', () => {
    expect(errorOf(() => parseNfsConfig(required, {}))).toMatch(/set --leader-election-namespace or the POD_NAMESPACE environment variable/);
  });
});

describe('flags', () => {
  test('a bare boolean flag is true', () => {
    expect(parseFlags(['--on'], { on: { kind: 'boolean', help: 'x' } }).get('on')).toBe(true);
  });

  test('help lists each flag with required/default notes', () => {
    const text = describeFlags({
      a: { kind: 'string', help: 'first', required: true },
      bb: { kind: 'integer', help: 'second', defaultText: '3' },
    });
    expect(text).toBe('  --a=<value>  first (required)\n  --bb=<n>     second (default 3)');
  });
});

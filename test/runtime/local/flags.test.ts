import { ConfigError } from '../../../src/runtime/core/flags';
import { parseLocalCommand } from '../../../src/runtime/local/flags';

describe('local command flags', () => {
  const env = { NODE_NAME: 'node-a', POD_NAME: 'agent-xyz' };

  test('reads the flags the DaemonSet is given, and the node from the environment', () => {
    expect(parseLocalCommand(['--config=/etc/cdk8s-storage/classes.json', '--http-port=8080'], env)).toEqual({
      configPath: '/etc/cdk8s-storage/classes.json', httpPort: 8080, nodeName: 'node-a', instance: 'agent-xyz', logLevel: 'info',
    });
    expect(parseLocalCommand(['--config=/c.json', '--kubeconfig=/kc'], { NODE_NAME: 'n' })).toEqual({
      configPath: '/c.json', httpPort: 8080, nodeName: 'n', instance: 'n', logLevel: 'info', kubeconfig: '/kc',
    });
    expect(parseLocalCommand(['--config=/c.json', '--log-level=debug'], env).logLevel).toBe('debug');
  });

  test.each<[string[], Record<string, string>, RegExp]>([
    [[], env, /missing required flag --config/],
    [['--config=/c.json', '--http-port=70000'], env, /--http-port=70000 is not a port: use 0-65535/],
    [['--config=/c.json', '--workers=3'], env, /unknown flag --workers/],
    [['--config=/c.json'], {}, /the NODE_NAME environment variable is not set/],
    [['--config=/c.json', '--log-level=verbose'], env, /--log-level="verbose" is not a log level: use debug, info, warn, error/],
  ])('rejects %j', (args, environment, message) => {
    expect(() => parseLocalCommand(args, environment)).toThrow(ConfigError);
    expect(() => parseLocalCommand(args, environment)).toThrow(message);
  });
});

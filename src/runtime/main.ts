/**
 * `cdk8s-storage-controller <command> [--flag=value ...]`: the runtime half of
 * cdk8s-storage. The constructs write the command and flags into the manifests; nothing
 * else configures it.
 */
import { ConfigError, describeFlags } from './core/flags';
import { processSignals } from './core/run-command';
import { KubeClient, loadKubeConfig } from './kube/client';
import { LocalClusterClient } from './kube/local-port';
import { parseLocalInvocation } from './local/flags';
import { runLocal } from './local/run';
import { runNodeCleanup } from './local/run-node-cleanup';
import { parseNfsConfig } from './nfs/flags';
import { runNfs } from './nfs/run';
import { parseNfsServerConfig } from './nfs-server/flags';
import { runNfsServer } from './nfs-server/run';
import { JsonLogger } from './ops/log';
import { VERSION } from './version';
import { COMMANDS, ENV, LOCAL_FLAGS } from '../contract/controller-config';
import { KUBECONFIG_FLAG, LOCAL_FLAG_SPECS, NFS_FLAG_SPECS, NFS_SERVER_FLAG_SPECS } from '../contract/flags';

const PROGRAM = 'cdk8s-storage-controller';

export function usage(): string {
  return [
    `Usage: ${PROGRAM} <command> [--flag=value ...]`,
    `       ${PROGRAM} --version`,
    '',
    'Commands:',
    `  ${COMMANDS.nfs}      provision NFS volumes as directories under an existing export`,
    `  ${COMMANDS.nfsServer}  the in-cluster NFS server: run nfs-ganesha and serve one size-enforced export per volume`,
    `  ${COMMANDS.local}    node agent: publish, wipe and republish local volumes of this node`,
    '',
    `Flags of "${COMMANDS.nfs}":`,
    describeFlags(NFS_FLAG_SPECS),
    '',
    `Flags of "${COMMANDS.nfsServer}":`,
    describeFlags(NFS_SERVER_FLAG_SPECS),
    '',
    `Flags of "${COMMANDS.local}":`,
    describeFlags(LOCAL_FLAG_SPECS),
    '',
    'Environment:',
    `  ${ENV.podName}        Lease holder identity and event source (the pod name)`,
    `  ${ENV.podNamespace}   namespace of the Lease when --leader-election-namespace is not given`,
    `  ${ENV.nodeName}       the node a local agent serves (required by "${COMMANDS.local}" unless --${LOCAL_FLAGS.nodeCleanup})`,
    `  KUBECONFIG      kubeconfig used outside a cluster when --${KUBECONFIG_FLAG} is not given`,
    '',
    'Endpoints on --http-port: /healthz, /readyz, /metrics. Logs are JSON lines on stdout.',
  ].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...args] = argv;
  if (command === '--version' || command === 'version') {
    process.stdout.write(`${PROGRAM} ${VERSION}\n`);
    return 0;
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help' || args.includes('--help')) {
    process.stdout.write(`${usage()}\n`);
    return command === undefined ? 2 : 0;
  }
  // Lines before a command's flags are parsed (none so far) and fatal errors use the default level.
  const log = new JsonLogger();
  const writeLine = (line: string) => process.stdout.write(line);
  try {
    switch (command) {
      case COMMANDS.nfs: {
        const config = parseNfsConfig(args, process.env);
        return await runNfs(config, new JsonLogger(writeLine, config.logLevel).child({ command }), {
          shutdownSignal: processSignals(),
          connect: () => new KubeClient(loadKubeConfig(config.kubeconfig)),
        });
      }
      case COMMANDS.nfsServer: {
        const config = parseNfsServerConfig(args, process.env);
        return await runNfsServer(config, new JsonLogger(writeLine, config.logLevel).child({ command }), {
          shutdownSignal: processSignals(),
          connect: () => new KubeClient(loadKubeConfig(config.kubeconfig)),
        });
      }
      case COMMANDS.local: {
        const invocation = parseLocalInvocation(args, process.env);
        if (invocation.mode === 'node-cleanup') {
          const config = invocation.config;
          return await runNodeCleanup(config, new JsonLogger(writeLine, config.logLevel).child({ command, role: 'node-cleanup' }), {
            shutdownSignal: processSignals(),
            connect: () => new LocalClusterClient(loadKubeConfig(config.kubeconfig)),
          });
        }
        const config = invocation.config;
        return await runLocal(config, new JsonLogger(writeLine, config.logLevel).child({ command, node: config.nodeName }), {
          shutdownSignal: processSignals(),
          connect: () => new LocalClusterClient(loadKubeConfig(config.kubeconfig)),
        });
      }
      default:
        throw new ConfigError(`unknown command ${JSON.stringify(command)}: use ${COMMANDS.nfs}, ${COMMANDS.nfsServer} or ${COMMANDS.local} (see --help)`);
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${PROGRAM}: ${error.message}\n`);
      return 2;
    }
    log.error('fatal error', { error: (error as Error).stack ?? String(error) });
    return 1;
  }
}

process.on('unhandledRejection', (reason) => {
  new JsonLogger().error('unhandled rejection', { error: (reason as Error)?.stack ?? String(reason) });
  process.exit(1);
});

void main(process.argv.slice(2)).then((code) => process.exit(code));

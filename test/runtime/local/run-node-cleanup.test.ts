/**
 * `local --node-cleanup`: parsing, and the whole role in one process against an in-memory
 * API (rounds at start and periodically, events, readiness, shutdown).
 */
import type { LocalClassConfig } from '../../../src/contract/controller-config';
import { ConfigError } from '../../../src/runtime/core/flags';
import { parseLocalCommand, parseLocalInvocation } from '../../../src/runtime/local/flags';
import { buildLocalPv } from '../../../src/runtime/local/pv';
import { runNodeCleanup } from '../../../src/runtime/local/run-node-cleanup';
import { JsonLogger } from '../../../src/runtime/ops/log';
import { until as pollUntil } from '../core/until';
import { MemoryApi } from '../support/memory-api';

describe('local --node-cleanup flags', () => {
  test('needs neither a class map nor NODE_NAME', () => {
    expect(parseLocalInvocation(['--node-cleanup', '--http-port=9090'], { POD_NAME: 'cleanup-1' })).toEqual({
      mode: 'node-cleanup', config: { httpPort: 9090, instance: 'cleanup-1', logLevel: 'info' },
    });
    expect(parseLocalInvocation(['--node-cleanup=true', '--kubeconfig=/kc'], {})).toEqual({
      mode: 'node-cleanup', config: { httpPort: 8080, instance: 'node-cleanup', logLevel: 'info', kubeconfig: '/kc' },
    });
  });

  test('without it, the agent is started, with its requirements', () => {
    expect(parseLocalInvocation(['--config=/c.json', '--node-cleanup=false'], { NODE_NAME: 'n' })).toEqual({
      mode: 'agent', config: { configPath: '/c.json', httpPort: 8080, nodeName: 'n', instance: 'n', logLevel: 'info' },
    });
    expect(() => parseLocalInvocation(['--node-cleanup=false'], { NODE_NAME: 'n' })).toThrow(/missing required flag --config/);
  });

  test.each<[string[], RegExp]>([
    [['--node-cleanup', '--http-port=-1'], /--http-port=-1 is not a port/],
    [['--node-cleanup=yes'], /flag --node-cleanup must be true or false/],
  ])('rejects %j', (args, message) => {
    expect(() => parseLocalInvocation(args, {})).toThrow(ConfigError);
    expect(() => parseLocalInvocation(args, {})).toThrow(message);
  });

  test('the agent parser refuses the role\'s flag instead of ignoring it', () => {
    expect(() => parseLocalCommand(['--node-cleanup'], { NODE_NAME: 'n' })).toThrow(/starts the node-deletion role, not a node agent/);
  });
});

const cls: LocalClassConfig = { storageClassName: 'fast', hostDir: '/mnt/fast', mountDir: '/mnt/fast', volumeMode: 'Filesystem', namePattern: '*', reclaimPolicy: 'Delete' };

async function publish(cluster: MemoryApi, node: string, entry: string): Promise<string> {
  const pv = buildLocalPv(cls, { name: node, hostname: `host-${node}` }, {
    name: entry, kind: 'dir', path: `/mnt/fast/${entry}`, identity: { devno: '8:1' }, capacityBytes: 1024n,
  });
  await cluster.localPort().createPV(pv);
  return pv.metadata!.name!;
}

const until = (check: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> => pollUntil(check, ms, 20);

test('removes Available PVs of deleted nodes at start and on later rounds, reports bound ones, and stops on the signal', async () => {
  const cluster = new MemoryApi();
  cluster.addNode('node-a', 'host-node-a');
  const kept = await publish(cluster, 'node-a', 'vol1');
  const gone = await publish(cluster, 'node-b', 'vol1');
  const bound = await publish(cluster, 'node-b', 'vol2');
  cluster.setPhase(bound, 'Bound');
  const sent: string[] = [];
  const rounds: unknown[] = [];
  let stop!: (signal: string) => void;
  let httpPort = 0;
  const exit = runNodeCleanup({ httpPort: 0, instance: 'cleanup-1' }, new JsonLogger(() => undefined), {
    shutdownSignal: new Promise(resolve => { stop = resolve; }),
    connect: () => cluster.localClusterPorts(sent),
    onListening: p => { httpPort = p; },
    onRound: r => rounds.push(r),
    periodMs: 50,
  });

  await until(() => rounds.length >= 1);
  expect(rounds[0]).toEqual({ deleted: [gone], reported: [bound] });
  expect(cluster.volumes.names().sort()).toEqual([kept, bound].sort());
  await until(() => sent.includes(`PersistentVolume/${gone} NodeDeletedVolumeRemoved`) && sent.includes(`PersistentVolume/${bound} ReferencedNodeDeleted`));
  expect((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status).toBe(200);

  // A node deleted while it runs is handled on the next round.
  cluster.nodes.remove('node-a');
  await until(() => !cluster.volumes.has(kept));
  const reportsBefore = sent.filter(s => s.endsWith('ReferencedNodeDeleted')).length;
  await until(() => rounds.length >= 5);
  // A condition that persists is reported once, not every round.
  expect(sent.filter(s => s.endsWith('ReferencedNodeDeleted'))).toHaveLength(reportsBefore);

  stop('SIGTERM');
  await expect(exit).resolves.toBe(0);
});

test('a failing API makes it not ready, and it recovers', async () => {
  const cluster = new MemoryApi();
  let failing = true;
  const base = cluster.localClusterPorts([]);
  const rounds: unknown[] = [];
  let stop!: (signal: string) => void;
  let httpPort = 0;
  const exit = runNodeCleanup({ httpPort: 0, instance: 'cleanup-1' }, new JsonLogger(() => undefined), {
    shutdownSignal: new Promise(resolve => { stop = resolve; }),
    connect: () => ({
      ...base,
      localApi: (log, options) => {
        const api = base.localApi(log, options);
        return { ...api, listNodeNames: async () => { if (failing) throw new Error('nodes is forbidden'); return []; } };
      },
    }),
    onListening: p => { httpPort = p; },
    onRound: r => rounds.push(r),
    periodMs: 20,
  });
  await until(() => rounds.length >= 1);
  expect(rounds[0]).toBeInstanceOf(Error);
  const notReady = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
  expect(notReady.status).not.toBe(200);
  expect(await notReady.text()).toContain('nodes is forbidden');
  failing = false;
  await until(async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status === 200);
  stop('SIGINT');
  await expect(exit).resolves.toBe(0);
});

/**
 * The whole `local` command in one process: flags and class map as the DaemonSet gives
 * them, an in-memory API, a real loop-mounted volume, the ops server and shutdown.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ConfigError } from '../../../src/runtime/core/flags';
import { parseLocalCommand } from '../../../src/runtime/local/flags';
import { localPvName } from '../../../src/runtime/local/pv';
import { runLocal } from '../../../src/runtime/local/run';
import { JsonLogger } from '../../../src/runtime/ops/log';
import { LoopLab } from '../../util/loop-lab';
import { until as pollUntil } from '../core/until';
import { MemoryApi } from '../support/memory-api';

const lab = new LoopLab('local-run');
afterAll(() => lab.cleanup());

const until = (check: () => boolean | Promise<boolean>, ms = 5000): Promise<boolean> => pollUntil(check, ms, 20);

test('starts from its flags and class map, publishes, reports ready and metrics, and stops on the signal', async () => {
  const disks = path.join(lab.root, 'disks');
  lab.mountFs(path.join(disks, 'vol1'));
  fs.mkdirSync(path.join(disks, 'not-mounted'));
  const classesFile = path.join(lab.root, 'classes.json');
  fs.writeFileSync(classesFile, JSON.stringify({
    classes: [{ storageClassName: 'local-ssd', hostDir: '/mnt/ssd', mountDir: disks, volumeMode: 'Filesystem', namePattern: '*', reclaimPolicy: 'Delete' }],
  }));
  const cluster = new MemoryApi();
  cluster.addNode('node-a', 'host-a');
  const sent: string[] = [];
  const lines: string[] = [];
  let stop!: (signal: string) => void;
  let httpPort = 0;
  const config = parseLocalCommand([`--config=${classesFile}`, '--http-port=0'], { NODE_NAME: 'node-a', POD_NAME: 'agent-1' });
  const exit = runLocal(config, new JsonLogger(l => lines.push(l)), {
    shutdownSignal: new Promise(resolve => { stop = resolve; }),
    connect: () => cluster.localClusterPorts(sent),
    onListening: p => { httpPort = p; },
  });

  await until(() => httpPort > 0);
  await until(async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status === 200);
  const name = localPvName('node-a', 'local-ssd', 'vol1');
  expect(cluster.volumes.get(name)?.spec?.local?.path).toBe('/mnt/ssd/vol1');
  await until(() => sent.includes('Node/node-a NotAMountPoint'));
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  expect(metrics).toContain('cdk8s_storage_operations_total{kind="provision",result="succeeded"} 1');

  stop('SIGTERM');
  await expect(exit).resolves.toBe(0);
  expect(lines.map(l => JSON.parse(l).msg)).toEqual(expect.arrayContaining(['started', 'shutting down', 'stopped']));
});

test('a broken class map is a configuration error naming the problem, before any API call', async () => {
  const classesFile = path.join(lab.root, 'broken.json');
  fs.writeFileSync(classesFile, JSON.stringify({ classes: [{ storageClassName: 'x', hostDir: 'relative', mountDir: '/m', volumeMode: 'Filesystem', reclaimPolicy: 'Delete' }] }));
  const config = parseLocalCommand([`--config=${classesFile}`], { NODE_NAME: 'node-a' });
  let connected = false;
  const run = runLocal(config, new JsonLogger(() => undefined), {
    shutdownSignal: new Promise(() => undefined),
    connect: () => {
      connected = true;
      throw new Error('must not connect');
    },
  });
  await expect(run).rejects.toThrow(ConfigError);
  await expect(run).rejects.toThrow(/broken.json: classes\[0\] \(x\): hostDir is "relative"/);
  expect(connected).toBe(false);
});

/**
 * No packet may leave this machine: a pod on the test node reaches neither the
 * `kubernetes` Service address (the service range is routed off this machine from
 * the host network) nor any outside address, because it has only `lo` and no route.
 *
 * The pod checks for routes before it dials anything, so a broken environment
 * fails this test without sending a packet out; the loopback dial is the control
 * that shows the pod's dialing itself works.
 */
import { connect, ControlPlane, TestNode } from '../harness';
import { runNodeScript } from './run-pod';

let cp: ControlPlane;
let node: TestNode;
const ns = `no-egress-${Date.now().toString(36)}`;

beforeAll(async () => {
  ({ controlPlane: cp, node } = connect());
  await cp.kubectl(['create', 'namespace', ns]);
  await cp.waitForObject(['serviceaccount', 'default', '-n', ns], (sa) => sa !== undefined);
});

afterAll(async () => {
  await cp?.kubectl(['delete', 'namespace', ns, '--wait=false'], { allowFailure: true });
});

/** Runs in the pod: its interfaces and routes, then (only with no route at all) dials each target. */
const PROBE = `
const fs = require('fs');
const net = require('net');
const interfaces = fs.readdirSync('/sys/class/net');
const lines = (file) => fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\\n').filter((l) => l.trim() !== '') : [];
const routes = [
  ...lines('/proc/net/route').slice(1),
  ...lines('/proc/net/ipv6_route').filter((l) => !/\\slo$/.test(l.trim())),
];
const dial = (host, port) => new Promise((resolve) => {
  const s = net.connect({ host, port, timeout: 3000 });
  s.on('connect', () => { s.destroy(); resolve('connected'); });
  s.on('timeout', () => { s.destroy(); resolve('timeout'); });
  s.on('error', (e) => resolve(e.code));
});
(async () => {
  const server = net.createServer((c) => c.end()).listen(0, '127.0.0.1');
  await new Promise((r) => server.on('listening', r));
  const loopback = await dial('127.0.0.1', server.address().port);
  server.close();
  const targets = JSON.parse(process.env.TARGETS);
  targets.push([process.env.KUBERNETES_SERVICE_HOST, Number(process.env.KUBERNETES_SERVICE_PORT)]);
  const results = [];
  if (interfaces.length === 1 && routes.length === 0) {
    for (const [host, port] of targets) results.push([host + ' ' + port, await dial(host, port)]);
  }
  console.log(JSON.stringify({ interfaces, routes, loopback, results }));
})();
`;

test('a pod reaches neither the service range address nor any outside address', async () => {
  const service = await cp.getJson(['service', 'kubernetes', '-n', 'default']);
  const serviceHost: string = service.spec.clusterIP;
  const targets = [[serviceHost, 443], ['1.1.1.1', 443], ['8.8.8.8', 53], ['2606:4700:4700::1111', 443]];
  const run = await runNodeScript(cp, { name: 'no-egress', namespace: ns, image: node.controllerImage, script: PROBE, env: { TARGETS: JSON.stringify(targets) } });
  process.stderr.write(`[no-egress] pod ran in ${run.seconds.toFixed(1)}s: ${run.logs}`);
  expect(run.phase).toBe('Succeeded');
  const seen = JSON.parse(run.logs);
  expect(seen.interfaces).toEqual(['lo']);
  expect(seen.routes).toEqual([]);
  expect(seen.loopback).toBe('connected');
  // Every target dialed, the last one the service env kubelet injects (the service range address).
  expect(seen.results.map(([target]: [string]) => target)).toEqual([...targets.map(([h, p]) => `${h} ${p}`), `${serviceHost} 443`]);
  for (const [target, outcome] of seen.results) {
    expect(`${target}: ${outcome}`).toBe(`${target}: ENETUNREACH`);
  }
});

test('a pod made to talk to the API server gets loopback as its in-cluster address', async () => {
  const apiPort = Number(new URL(cp.server).port);
  const run = await runNodeScript(cp, {
    name: 'api-env',
    namespace: ns,
    image: node.controllerImage,
    apiPort,
    script: 'console.log(JSON.stringify({ host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT }))',
  });
  expect(run.phase).toBe('Succeeded');
  expect(JSON.parse(run.logs)).toEqual({ host: '127.0.0.1', port: String(apiPort) });
});

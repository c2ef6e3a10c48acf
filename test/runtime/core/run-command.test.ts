/**
 * runCommand: the ops endpoints of a running command, its liveness rule, and the shutdown
 * order (stop the work, send the queued events, close the ops server), with a real HTTP server.
 */
import type { CoreV1Event } from '@kubernetes/client-node';
import { commandReporting, Failing, runCommand, UNHEALTHY_AFTER_MS } from '../../../src/runtime/core/run-command';
import { JsonLogger } from '../../../src/runtime/ops/log';
import type { EventPort } from '../../../src/runtime/ports/events';

/** An event port whose sends finish when the test says so. */
function heldEvents() {
  const created: string[] = [];
  const held: Array<() => void> = [];
  const port: EventPort = {
    create: (_namespace: string, event: CoreV1Event) => new Promise<void>((resolve) => held.push(() => {
      created.push(event.reason!);
      resolve();
    })),
    patch: async () => undefined,
  };
  return { port, created, release: () => held.splice(0).forEach((send) => send()) };
}

function controls() {
  let signal!: (name: string) => void;
  const shutdownSignal = new Promise<string>((resolve) => { signal = resolve; });
  let listening!: (port: number) => void;
  const port = new Promise<number>((resolve) => { listening = resolve; });
  return { shutdownSignal, signal, onListening: listening, port };
}

const get = async (port: number, path: string) => {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
};

test('serves /healthz, /readyz and /metrics from the command; /healthz fails only after UNHEALTHY_AFTER_MS', async () => {
  const lines: string[] = [];
  const log = new JsonLogger((line) => lines.push(line));
  const events = heldEvents();
  const reporting = commandReporting(events.port, { component: 'test-component', instance: 'pod-1' }, log);
  const run = controls();
  let failing: Failing = { forMs: 0, what: 'pods list/watch' };
  let ready = false;
  const exit = runCommand({
    ...reporting,
    log,
    httpPort: 0,
    shutdownSignal: run.shutdownSignal,
    onListening: run.onListening,
    failing: () => failing,
    ready: () => (ready ? { ok: true, detail: 'working' } : { ok: false, detail: 'warming up' }),
    start: () => undefined,
    stop: async () => undefined,
    describe: { answer: 42 },
  });
  const port = await run.port;

  expect(await get(port, '/healthz')).toEqual({ status: 200, body: 'ok: alive\n' });
  expect(await get(port, '/readyz')).toEqual({ status: 503, body: 'not ok: warming up\n' });
  ready = true;
  expect(await get(port, '/readyz')).toEqual({ status: 200, body: 'ok: working\n' });
  failing = { forMs: UNHEALTHY_AFTER_MS, what: 'pods list/watch' };
  expect((await get(port, '/healthz')).status).toBe(200);
  failing = { forMs: UNHEALTHY_AFTER_MS + 1000, what: 'pods list/watch', error: 'connection refused' };
  expect(await get(port, '/healthz')).toEqual({ status: 503, body: 'not ok: pods list/watch failing for 301 s: connection refused\n' });
  reporting.metrics.error('api');
  expect((await get(port, '/metrics')).body).toContain('cdk8s_storage_errors_total{source="api"} 1');

  run.signal('SIGTERM');
  expect(await exit).toBe(0);
  const startedLine = JSON.parse(lines.find((l) => JSON.parse(l).msg === 'started')!);
  expect(startedLine).toMatchObject({ answer: 42, httpPort: port });
  expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['started', 'shutting down', 'stopped']);
});

test('start runs once the ops server listens; on the signal: stop the work, then send the queued events, then close the server', async () => {
  const log = new JsonLogger(() => undefined);
  const events = heldEvents();
  const reporting = commandReporting(events.port, { component: 'test-component', instance: 'pod-1' }, log);
  const run = controls();
  const steps: string[] = [];
  let port = 0;
  const exit = runCommand({
    ...reporting,
    log,
    httpPort: 0,
    shutdownSignal: run.shutdownSignal,
    onListening: (p) => { port = p; steps.push('listening'); },
    failing: () => ({ forMs: 0, what: 'nothing' }),
    ready: () => ({ ok: true, detail: 'ready' }),
    start: () => { steps.push('start'); },
    stop: async () => {
      steps.push('stop');
      // The work's last event, still waiting to be sent when stop returns.
      reporting.events.emit({ apiVersion: 'v1', kind: 'Pod', name: 'p' }, 'Normal', 'LastWords', 'bye');
    },
  });
  while (steps.length < 2) await new Promise((resolve) => setImmediate(resolve));
  expect(steps).toEqual(['listening', 'start']);

  run.signal('SIGTERM');
  while (!steps.includes('stop')) await new Promise((resolve) => setImmediate(resolve));
  // The server still answers while the events are being sent.
  expect((await get(port, '/readyz')).status).toBe(200);
  events.release();
  expect(await exit).toBe(0);
  expect(events.created).toEqual(['LastWords']);
  await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
});

import { Check, OpsServer } from '../../../src/runtime/ops/http';
import { JsonLogger } from '../../../src/runtime/ops/log';
import { Metrics } from '../../../src/runtime/ops/metrics';

describe('OpsServer', () => {
  let server: OpsServer;
  let port: number;
  let healthy: Check;
  let ready: Check;
  let metrics: Metrics;

  beforeEach(async () => {
    healthy = { ok: true, detail: 'alive' };
    ready = { ok: false, detail: 'waiting for caches to sync' };
    metrics = new Metrics({ defaultMetrics: true });
    server = new OpsServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, healthy: () => healthy, ready: () => ready });
    port = await server.start();
  });

  afterEach(async () => {
    await server.stop();
  });

  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
  };

  test('healthz and readyz answer 200 or 503 with the reason', async () => {
    expect(await get('/healthz')).toMatchObject({ status: 200, body: 'ok: alive\n' });
    expect(await get('/readyz')).toMatchObject({ status: 503, body: 'not ok: waiting for caches to sync\n' });
    ready = { ok: true, detail: 'leader, caches synced' };
    expect(await get('/readyz?verbose')).toMatchObject({ status: 200 });
    healthy = { ok: false, detail: 'stuck' };
    expect((await get('/healthz')).status).toBe(503);
  });

  test('metrics are served in the Prometheus text format with our series', async () => {
    metrics.operation('provision', 'succeeded', 0.02);
    metrics.operation('delete', 'failed', 1.5);
    metrics.error('api');
    metrics.informerRestart('persistentvolumes', 'stalled');
    metrics.setLeader(true);
    metrics.watchQueue(() => ({ depth: 7, inFlight: 3, retrying: 2 }));
    const { status, type, body } = await get('/metrics');
    expect(status).toBe(200);
    expect(type).toContain('text/plain');
    for (const line of [
      'cdk8s_storage_operations_total{kind="provision",result="succeeded"} 1',
      'cdk8s_storage_operations_total{kind="delete",result="failed"} 1',
      'cdk8s_storage_operation_duration_seconds_bucket{le="0.025",kind="provision",result="succeeded"} 1',
      'cdk8s_storage_errors_total{source="api"} 1',
      'cdk8s_storage_informer_restarts_total{resource="persistentvolumes",reason="stalled"} 1',
      'cdk8s_storage_leader 1',
      'cdk8s_storage_queue_depth 7',
      'cdk8s_storage_queue_in_flight 3',
      'cdk8s_storage_queue_retrying 2',
    ]) {
      expect(body).toContain(line);
    }
    expect(body).toContain('process_cpu_seconds_total');
  });

  test('unknown paths and methods are refused', async () => {
    expect((await get('/nope')).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`, { method: 'POST' })).status).toBe(405);
  });
});

describe('JsonLogger', () => {
  test('writes one JSON object per line with fields, child fields and flattened errors', () => {
    const lines: string[] = [];
    const log = new JsonLogger((l) => lines.push(l)).child({ command: 'nfs' });
    log.info('provision succeeded', { volume: 'pvc-1', bytes: 5n });
    log.warn('failed', { error: Object.assign(new Error('denied'), { code: 'EACCES' }) });
    log.debug('hidden');
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    expect(JSON.parse(lines[0])).toEqual({ time: expect.any(String), level: 'info', msg: 'provision succeeded', command: 'nfs', volume: 'pvc-1', bytes: '5' });
    expect(JSON.parse(lines[1]).error).toEqual({ message: 'denied', code: 'EACCES' });
  });
});

import { sleep, until as pollUntil } from './until';
import { formatMicroTime, LeaderElector, parseTime } from '../../../src/runtime/core/leader';
import { JsonLogger } from '../../../src/runtime/ops/log';
import { MemoryApi } from '../support/memory-api';

const timing = { leaseDurationMs: 400, renewDeadlineMs: 250, retryPeriodMs: 40 };
const quiet = new JsonLogger(() => undefined);
const until = (condition: () => boolean, ms = 3000): Promise<boolean> => pollUntil(condition, ms, 5);

function candidate(api: MemoryApi, identity: string) {
  const log: string[] = [];
  const elector = new LeaderElector(identity, api.leasePort(), {
    onStartedLeading: () => log.push('started'),
    onStoppedLeading: async () => {
      log.push('stopping');
      await sleep(20); // in-flight work finishing
      log.push('stopped');
    },
  }, quiet, timing);
  return { elector, log };
}

const running: LeaderElector[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.stop()));
});

test('acquires a missing Lease, then keeps renewing it', async () => {
  const api = new MemoryApi();
  const a = candidate(api, 'a');
  running.push(a.elector);
  a.elector.start();
  await until(() => a.elector.isLeader);
  expect(a.log).toEqual(['started']);
  expect(api.lease).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 1, leaseTransitions: 0 });
  const first = api.lease!;
  await sleep(150);
  expect(api.lease!.renewTime!.getTime()).toBeGreaterThan(first.renewTime!.getTime());
  expect(api.lease!.acquireTime).toEqual(first.acquireTime);
  expect(api.lease!.leaseTransitions).toBe(0);
  expect(a.elector.inContact).toBe(true);
});

test('only one of two candidates leads; stopping the leader hands over at once', async () => {
  const api = new MemoryApi();
  const a = candidate(api, 'a');
  const b = candidate(api, 'b');
  running.push(b.elector);
  a.elector.start();
  await until(() => a.elector.isLeader);
  b.elector.start();
  await sleep(200);
  expect(b.elector.isLeader).toBe(false);

  await a.elector.stop();
  // Released on stop (so the standby need not wait out the lease duration), after the work stopped.
  expect(api.lease?.holderIdentity).not.toBe('a');
  expect(a.log).toEqual(['started', 'stopping', 'stopped']);
  await until(() => b.elector.isLeader);
  expect(api.lease).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
});

test('a standby logs once per holder that it is standing by, and not again after it leads', async () => {
  const api = new MemoryApi();
  const lines: any[] = [];
  const captured = new JsonLogger((line) => lines.push(JSON.parse(line)));
  const a = candidate(api, 'a');
  const b = new LeaderElector('b', api.leasePort(), { onStartedLeading: () => undefined, onStoppedLeading: () => undefined }, captured, timing);
  running.push(b);
  a.elector.start();
  await until(() => a.elector.isLeader);
  b.start();
  // Several retry periods: still one line.
  await sleep(10 * timing.retryPeriodMs);
  const standby = () => lines.filter((l) => l.msg === 'standing by: another instance holds the Lease');
  expect(standby()).toEqual([expect.objectContaining({ level: 'info', identity: 'b', holder: 'a' })]);

  await a.elector.stop();
  await until(() => b.isLeader);
  expect(lines.map((l) => l.msg)).toEqual(['standing by: another instance holds the Lease', 'became leader']);
});

test('a crashed leader (no release) is replaced after the lease duration, not before', async () => {
  const api = new MemoryApi();
  const now = new Date();
  api.lease = { holderIdentity: 'ghost', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: 3, resourceVersion: '1' };
  const b = candidate(api, 'b');
  running.push(b.elector);
  const started = Date.now();
  b.elector.start();
  await sleep(600);
  expect(b.elector.isLeader).toBe(false);
  await until(() => b.elector.isLeader, 3000);
  expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  expect(api.lease).toMatchObject({ holderIdentity: 'b', leaseTransitions: 4 });
});

test('losing the API stops the work within the renew deadline without crashing, and leadership comes back', async () => {
  const api = new MemoryApi();
  const a = candidate(api, 'a');
  running.push(a.elector);
  a.elector.start();
  await until(() => a.elector.isLeader);
  api.leaseUnreachable = true;
  const cut = Date.now();
  await until(() => a.log.includes('stopped'));
  expect(Date.now() - cut).toBeLessThan(timing.leaseDurationMs);
  expect(a.elector.isLeader).toBe(false);
  api.leaseUnreachable = false;
  await until(() => a.elector.isLeader);
  expect(a.log).toEqual(['started', 'stopping', 'stopped', 'started']);
});

test('rejects timings where the renew deadline is not shorter than the lease', () => {
  expect(() => new LeaderElector('x', new MemoryApi().leasePort(), { onStartedLeading: () => undefined, onStoppedLeading: () => undefined }, quiet,
    { leaseDurationMs: 100, renewDeadlineMs: 100, retryPeriodMs: 10 })).toThrow(/leaseDuration > renewDeadline > retryPeriod/);
});

test('MicroTime has six fractional digits and parses back', () => {
  const date = new Date('2024-05-06T07:08:09.123Z');
  expect(formatMicroTime(date)).toBe('2024-05-06T07:08:09.123000Z');
  expect(parseTime('2024-05-06T07:08:09.123456Z')?.toISOString()).toBe('2024-05-06T07:08:09.123Z');
  expect(parseTime(date)).toBe(date);
  expect(parseTime('')).toBeUndefined();
  expect(parseTime('not a time')).toBeUndefined();
});

import { until } from './until';
import { WorkQueue } from '../../../src/runtime/core/queue';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A handler whose calls resolve when the test says so. */
function controlled() {
  const calls: string[] = [];
  const waiting = new Map<string, Array<() => void>>();
  const handler = (key: string) => {
    calls.push(key);
    return new Promise<void>((resolve) => {
      const list = waiting.get(key) ?? [];
      list.push(resolve);
      waiting.set(key, list);
    });
  };
  const finish = (key: string) => {
    const list = waiting.get(key);
    list?.shift()?.();
  };
  return { calls, handler, finish };
}

describe('WorkQueue', () => {
  test('runs up to `concurrency` keys at once and no more', async () => {
    let running = 0;
    let peak = 0;
    const queue = new WorkQueue({
      concurrency: 16,
      handler: async () => {
        running++;
        peak = Math.max(peak, running);
        await sleep(5);
        running--;
      },
    });
    for (let i = 0; i < 500; i++) queue.add(`claim-${i}`);
    expect(queue.inFlight).toBe(16);
    expect(queue.depth).toBe(484);
    await queue.idle();
    expect(peak).toBe(16);
  });

  test('500 keys of 20 ms each all run, 16 at a time (in parallel, not one by one)', async () => {
    let running = 0;
    let peak = 0;
    const done = new Set<string>();
    const queue = new WorkQueue({
      concurrency: 16,
      handler: async (key) => {
        peak = Math.max(peak, ++running);
        await sleep(20);
        running--;
        done.add(key);
      },
    });
    for (let i = 0; i < 500; i++) queue.add(`k${i}`);
    await queue.idle();
    expect(done.size).toBe(500);
    expect(peak).toBe(16);
  });

  test('a key never runs twice at once; an add while running runs it once more afterwards', async () => {
    const { calls, handler, finish } = controlled();
    const queue = new WorkQueue({ concurrency: 4, handler });
    queue.add('a');
    queue.add('a');
    expect(calls).toEqual(['a']);
    queue.add('a');
    queue.add('a');
    expect(calls).toEqual(['a']);
    finish('a');
    await sleep(0);
    expect(calls).toEqual(['a', 'a']);
    finish('a');
    await queue.idle();
    expect(calls).toEqual(['a', 'a']);
  });

  test('duplicate adds of a waiting key collapse into one run', async () => {
    const { calls, handler, finish } = controlled();
    const queue = new WorkQueue({ concurrency: 1, handler });
    queue.add('busy');
    queue.add('b');
    queue.add('b');
    queue.add('b');
    expect(queue.depth).toBe(1);
    finish('busy');
    await sleep(0);
    finish('b');
    await queue.idle();
    expect(calls).toEqual(['busy', 'b']);
  });

  test('retries a failing key with exponential backoff and resets after success', async () => {
    const times: number[] = [];
    let failuresLeft = 4;
    const seen: Array<[number, number]> = [];
    const queue = new WorkQueue({
      concurrency: 2,
      baseDelayMs: 20,
      maxDelayMs: 1000,
      handler: async () => {
        times.push(Date.now());
        if (failuresLeft-- > 0) throw new Error('API says no');
      },
      onFailure: (_key, _error, failures, delay) => seen.push([failures, delay]),
    });
    queue.add('k');
    while (times.length < 5) await sleep(10);
    await queue.idle();
    expect(seen).toEqual([[1, 20], [2, 40], [3, 80], [4, 160]]);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    [20, 40, 80, 160].forEach((delay, i) => expect(gaps[i]).toBeGreaterThanOrEqual(delay - 2));
    expect(queue.failureCount('k')).toBe(0);
  });

  test('the delay is capped', async () => {
    const delays: number[] = [];
    const queue = new WorkQueue({
      concurrency: 1,
      baseDelayMs: 1,
      maxDelayMs: 4,
      handler: async () => { throw new Error('x'); },
      onFailure: (_k, _e, _f, delay) => delays.push(delay),
    });
    queue.add('k');
    while (delays.length < 6) await sleep(5);
    await queue.stop();
    expect(delays.slice(0, 6)).toEqual([1, 2, 4, 4, 4, 4]);
  });

  test('a fresh add runs a key waiting for its retry at once, keeping its failure count', async () => {
    let calls = 0;
    const queue = new WorkQueue({
      concurrency: 1,
      baseDelayMs: 60_000,
      handler: async () => {
        calls++;
        if (calls === 1) throw new Error('first try fails');
      },
    });
    queue.add('k');
    await queue.idle();
    expect(queue.retrying).toBe(1);
    expect(queue.failureCount('k')).toBe(1);
    queue.add('k');
    await queue.idle();
    expect(calls).toBe(2);
    expect(queue.retrying).toBe(0);
    expect(queue.failureCount('k')).toBe(0);
  });

  test('stop waits for running keys, drops waiting ones and ignores later adds', async () => {
    const { calls, handler, finish } = controlled();
    const queue = new WorkQueue({ concurrency: 1, handler });
    queue.add('running');
    queue.add('waiting');
    let stopped = false;
    const stopping = queue.stop().then(() => { stopped = true; });
    await sleep(5);
    expect(stopped).toBe(false);
    finish('running');
    await stopping;
    queue.add('late');
    await sleep(5);
    expect(calls).toEqual(['running']);
    queue.start();
    queue.add('after-restart');
    finish('after-restart');
    await queue.idle();
    expect(calls).toEqual(['running', 'after-restart']);
  });

  describe('addAfter', () => {
    test('runs the key once the delay has passed', async () => {
      const calls: string[] = [];
      const queue = new WorkQueue({ concurrency: 1, handler: async (key) => { calls.push(key); } });
      queue.addAfter('k', 10);
      expect(calls).toEqual([]);
      expect(queue.retrying).toBe(1);
      await until(() => calls.length === 1);
      await queue.idle();
      expect(calls).toEqual(['k']);
      expect(queue.retrying).toBe(0);
    });

    test('a sooner delay replaces a later one; a later one leaves the sooner one', async () => {
      const calls: string[] = [];
      const queue = new WorkQueue({ concurrency: 1, handler: async (key) => { calls.push(key); } });
      queue.addAfter('sooner-second', 3_600_000);
      queue.addAfter('sooner-second', 10);
      queue.addAfter('later-second', 10);
      queue.addAfter('later-second', 3_600_000);
      expect(queue.retrying).toBe(2);
      await until(() => calls.length === 2);
      await queue.idle();
      expect(calls.sort()).toEqual(['later-second', 'sooner-second']);
      expect(queue.retrying).toBe(0);
    });

    test('a key waiting to run is not delayed, and runs once', async () => {
      const { calls, handler, finish } = controlled();
      const queue = new WorkQueue({ concurrency: 1, handler });
      queue.add('busy');
      queue.add('k');
      queue.addAfter('k', 10);
      expect(queue.retrying).toBe(0);
      finish('busy');
      await until(() => calls.length === 2);
      finish('k');
      await queue.idle();
      expect(calls).toEqual(['busy', 'k']);
    });

    test('a delayed add of a running key runs it again after it finished', async () => {
      const { calls, handler, finish } = controlled();
      const queue = new WorkQueue({ concurrency: 1, handler });
      queue.add('k');
      queue.addAfter('k', 10);
      finish('k');
      await until(() => calls.length === 2);
      finish('k');
      await queue.idle();
      expect(calls).toEqual(['k', 'k']);
    });

    test('a fresh add runs the key at once and drops its timer', async () => {
      const { calls, handler, finish } = controlled();
      const queue = new WorkQueue({ concurrency: 1, handler });
      queue.addAfter('k', 3_600_000);
      queue.add('k');
      expect(calls).toEqual(['k']);
      expect(queue.retrying).toBe(0);
      finish('k');
      await queue.idle();
    });

    test('stop clears the timers; adds after stop are ignored', async () => {
      const calls: string[] = [];
      const queue = new WorkQueue({ concurrency: 1, handler: async (key) => { calls.push(key); } });
      queue.addAfter('k', 3_600_000);
      await queue.stop();
      expect(queue.retrying).toBe(0);
      queue.addAfter('late', 1);
      expect(queue.retrying).toBe(0);
      expect(calls).toEqual([]);
    });
  });

  test('rejects a concurrency below one', () => {
    expect(() => new WorkQueue({ concurrency: 0, handler: async () => undefined })).toThrow(/concurrency/);
  });
});

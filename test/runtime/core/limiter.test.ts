import { forEachLimited, Limiter } from '../../../src/runtime/core/limiter';

/** A call that finishes when the test says so. */
function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('Limiter', () => {
  test('runs at most `size` calls at once; the rest wait', async () => {
    const limiter = new Limiter(2);
    const gates = [gate(), gate(), gate()];
    const started: number[] = [];
    const runs = gates.map((g, i) => limiter.run(async () => { started.push(i); await g.promise; }));
    expect(started).toEqual([0, 1]);
    expect(limiter.running).toBe(2);
    expect(limiter.queued).toBe(1);
    gates[0].open();
    await runs[0];
    await Promise.resolve();
    expect(started).toEqual([0, 1, 2]);
    gates[1].open();
    gates[2].open();
    await Promise.all(runs);
    expect(limiter.running).toBe(0);
  });

  test('waiters run in arrival order (FIFO)', async () => {
    const limiter = new Limiter(1);
    const first = gate();
    const order: string[] = [];
    const runs = [limiter.run(() => first.promise)];
    for (const name of ['a', 'b', 'c', 'd']) runs.push(limiter.run(async () => { order.push(name); }));
    first.open();
    await Promise.all(runs);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
  });

  test('a finished call hands its slot to the oldest waiter, so a newcomer cannot run beside it', async () => {
    const limiter = new Limiter(1);
    let running = 0;
    let peak = 0;
    const task = async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
    };
    const first = gate();
    const firstRun = limiter.run(() => first.promise);
    const waiting = limiter.run(task);
    first.open();
    // Arrives right after the first call has finished, before the waiting call has resumed.
    const newcomer = Promise.resolve().then(() => limiter.run(task));
    await Promise.all([firstRun, waiting, newcomer]);
    expect(peak).toBe(1);
  });

  test('a failing call frees its slot and passes its error to the caller', async () => {
    const limiter = new Limiter(1);
    await expect(limiter.run(async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    await expect(limiter.run(() => { throw new Error('sync boom'); })).rejects.toThrow('sync boom');
    await expect(limiter.run(async () => 42)).resolves.toBe(42);
    expect(limiter.running).toBe(0);
  });

  test('idle resolves once nothing runs or waits', async () => {
    const limiter = new Limiter(1);
    await limiter.idle();
    const gates = [gate(), gate()];
    gates.forEach((g) => void limiter.run(() => g.promise));
    let idle = false;
    const idling = limiter.idle().then(() => { idle = true; });
    gates[0].open();
    await new Promise((resolve) => setImmediate(resolve));
    expect(idle).toBe(false);
    gates[1].open();
    await idling;
    expect(limiter.running + limiter.queued).toBe(0);
  });

  test('rejects a size below one or not an integer', () => {
    expect(() => new Limiter(0)).toThrow(/positive integer, got 0/);
    expect(() => new Limiter(1.5)).toThrow(/positive integer, got 1.5/);
  });
});

describe('forEachLimited', () => {
  test('runs every item within the bound and rejects with the first failure after all settled', async () => {
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    const items = Array.from({ length: 20 }, (_, i) => i);
    const all = forEachLimited(items, 3, async (i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
      if (i === 5 || i === 9) throw new Error(`item ${i}`);
      done.push(i);
    });
    await expect(all).rejects.toThrow('item 5');
    expect(peak).toBe(3);
    expect(done).toHaveLength(18);
  });
});

import { sleep, until as pollUntil } from './until';
import { Informer } from '../../../src/runtime/core/informer';
import { JsonLogger } from '../../../src/runtime/ops/log';
import type { ListWatchPort, WatchEventType } from '../../../src/runtime/ports/list-watch';

interface Obj {
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  value?: string;
}

interface FakeWatch {
  rv: string;
  timeoutSeconds: number;
  onEvent: (type: WatchEventType, obj: Obj) => void;
  onDone: (error: unknown) => void;
  aborted: boolean;
}

/** An API server in memory: lists the current objects, hands out watches the test drives. */
class FakeServer implements ListWatchPort<Obj> {
  readonly objects = new Map<string, Obj>();
  readonly watches: FakeWatch[] = [];
  rv = 100;
  lists = 0;
  listFailures = 0;
  watchFailures = 0;

  async list() {
    this.lists++;
    if (this.listFailures > 0) {
      this.listFailures--;
      throw Object.assign(new Error('connection refused'), { code: 503 });
    }
    return { items: [...this.objects.values()], resourceVersion: String(this.rv) };
  }

  async watch(rv: string, timeoutSeconds: number, onEvent: FakeWatch['onEvent'], onDone: FakeWatch['onDone']) {
    if (this.watchFailures > 0) {
      this.watchFailures--;
      throw Object.assign(new Error('watch refused'), { statusCode: 500 });
    }
    const w: FakeWatch = { rv, timeoutSeconds, onEvent, onDone, aborted: false };
    this.watches.push(w);
    return { abort: () => { w.aborted = true; } };
  }

  put(name: string, value: string): Obj {
    const obj = { metadata: { name, namespace: 'ns', resourceVersion: String(++this.rv) }, value };
    this.objects.set(name, obj);
    return obj;
  }

  get live(): FakeWatch {
    return this.watches[this.watches.length - 1];
  }
}

const until = (condition: () => boolean, ms = 3000): Promise<boolean> => pollUntil(condition, ms, 5);

function setup(options: ConstructorParameters<typeof Informer>[4] = {}) {
  const server = new FakeServer();
  const upserts: string[] = [];
  const removes: string[] = [];
  const restarts: string[] = [];
  const informer = new Informer<Obj>('things', server, {
    upsert: (o) => upserts.push(`${o.metadata.name}=${o.value}`),
    remove: (o) => removes.push(o.metadata.name),
  }, new JsonLogger(() => undefined), { minBackoffMs: 10, maxBackoffMs: 40, onRestart: (r) => restarts.push(r), ...options });
  return { server, informer, upserts, removes, restarts };
}

let current: Informer<Obj> | undefined;
afterEach(async () => {
  await current?.stop();
  current = undefined;
});

test('lists, syncs, then applies watch events from the listed resourceVersion', async () => {
  const { server, informer, upserts, removes } = setup();
  current = informer;
  server.put('a', '1');
  informer.start();
  await informer.waitForSync(1000);
  await until(() => server.watches.length === 1);
  expect(server.live.rv).toBe(String(server.rv));
  expect(upserts).toEqual(['a=1']);

  server.live.onEvent('ADDED', { metadata: { name: 'b', namespace: 'ns', resourceVersion: '200' }, value: '2' });
  server.live.onEvent('MODIFIED', { metadata: { name: 'a', namespace: 'ns', resourceVersion: '201' }, value: '3' });
  server.live.onEvent('DELETED', { metadata: { name: 'b', namespace: 'ns', resourceVersion: '202' } });
  server.live.onEvent('BOOKMARK', { metadata: { name: '', resourceVersion: '250' } });
  expect(informer.get('a', 'ns')?.value).toBe('3');
  expect(informer.get('b', 'ns')).toBeUndefined();
  expect(upserts).toEqual(['a=1', 'b=2', 'a=3']);
  expect(removes).toEqual(['b']);

  // A normal end of the watch (server timeout) resumes from the last resourceVersion, no relist.
  server.live.onDone(null);
  await until(() => server.watches.length === 2);
  expect(server.live.rv).toBe('250');
  expect(server.lists).toBe(1);
});

test('start twice runs one loop', async () => {
  const { server, informer } = setup();
  current = informer;
  informer.start();
  informer.start();
  await informer.waitForSync(1000);
  await sleep(20);
  expect(server.lists).toBe(1);
});

test('a watch error restarts with backoff and relists; objects gone meanwhile are removed', async () => {
  const { server, informer, removes, restarts } = setup();
  current = informer;
  server.put('a', '1');
  server.put('b', '1');
  informer.start();
  await until(() => server.watches.length === 1);
  server.objects.delete('b');
  server.live.onDone(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
  await until(() => server.lists === 2);
  expect(restarts).toEqual(['error']);
  expect(removes).toEqual(['b']);
  expect(informer.list().map((o) => o.metadata.name)).toEqual(['a']);
});

test('410 Gone (as an ERROR event or as the end status) relists at once', async () => {
  const { server, informer, restarts } = setup({ minBackoffMs: 60_000 });
  current = informer;
  informer.start();
  await until(() => server.watches.length === 1);
  server.live.onEvent('ERROR', { metadata: { name: '' }, code: 410 } as unknown as Obj);
  await until(() => server.watches.length === 2);
  expect(server.watches[0].aborted).toBe(true);
  server.live.onDone(Object.assign(new Error('Gone'), { statusCode: 410 }));
  await until(() => server.watches.length === 3);
  expect(restarts).toEqual(['expired', 'expired']);
  expect(server.lists).toBe(3);
});

test('a watch that goes silent is detected and replaced by a relist', async () => {
  const { server, informer, restarts } = setup({ stallTimeoutMs: 80 });
  current = informer;
  informer.start();
  await until(() => server.watches.length === 1);
  await until(() => server.watches.length === 2, 2000);
  expect(server.watches[0].aborted).toBe(true);
  expect(restarts[0]).toBe('stalled');
  expect(server.lists).toBe(2);
});

test('events keep a watch alive past the stall timeout', async () => {
  const { server, informer } = setup({ stallTimeoutMs: 150 });
  current = informer;
  informer.start();
  await until(() => server.watches.length === 1);
  for (let i = 0; i < 10; i++) {
    await sleep(40);
    server.live.onEvent('BOOKMARK', { metadata: { name: '', resourceVersion: String(300 + i) } });
  }
  expect(server.watches).toHaveLength(1);
});

test('the periodic relist replays every object to the handlers', async () => {
  const { server, informer, upserts, restarts } = setup({ relistIntervalMs: 100, stallTimeoutMs: 10_000 });
  current = informer;
  server.put('a', '1');
  informer.start();
  await until(() => server.lists >= 2, 2000);
  expect(restarts[0]).toBe('periodic');
  expect(upserts.filter((u) => u === 'a=1').length).toBeGreaterThanOrEqual(2);
});

test('list failures back off exponentially, report unhealthy, and recover', async () => {
  const errors: unknown[] = [];
  const { server, informer } = setup({ onError: (e) => errors.push(e) });
  current = informer;
  server.listFailures = 4;
  informer.start();
  await until(() => server.lists >= 3);
  expect(informer.hasSynced).toBe(false);
  expect(informer.unhealthyForMs).toBeGreaterThan(0);
  await informer.waitForSync(2000);
  expect(server.lists).toBe(5);
  expect(errors).toHaveLength(4);
  expect(informer.unhealthyForMs).toBe(0);
});

test('a watch request that fails to start counts as an error and is retried', async () => {
  const { server, informer, restarts } = setup();
  current = informer;
  server.watchFailures = 1;
  informer.start();
  await until(() => server.watches.length === 1);
  expect(restarts).toEqual(['error']);
});

test('stop aborts the live watch and ends the loop; the cache stays readable', async () => {
  const { server, informer } = setup();
  server.put('a', '1');
  informer.start();
  await until(() => server.watches.length === 1);
  await informer.stop();
  expect(server.live.aborted).toBe(true);
  const lists = server.lists;
  await sleep(30);
  expect(server.lists).toBe(lists);
  expect(informer.get('a', 'ns')?.value).toBe('1');
});

test('after stop and start the informer is not synced until a fresh list arrives', async () => {
  const { server, informer } = setup();
  current = informer;
  informer.start();
  await informer.waitForSync(1000);
  await informer.stop();
  server.listFailures = 2;
  informer.start();
  expect(informer.hasSynced).toBe(false);
  await informer.waitForSync(2000);
  expect(server.lists).toBe(4);
});

/** A server whose list hands its objects over page by page, as the kube adapter does; the test releases each page. */
class PagedServer extends FakeServer {
  pageSize = 2;
  failAfterPages = Infinity;
  private release: Array<() => void> = [];
  pagesHanded = 0;

  async list(onPage?: (items: Obj[]) => void) {
    this.lists++;
    const all = [...this.objects.values()];
    for (let i = 0; i < all.length; i += this.pageSize) {
      await new Promise<void>((resolve) => this.release.push(resolve));
      if (this.pagesHanded >= this.failAfterPages) throw Object.assign(new Error('The provided continue parameter is too old'), { code: 410 });
      this.pagesHanded++;
      onPage!(all.slice(i, i + this.pageSize));
    }
    return { items: [], resourceVersion: String(this.rv) };
  }

  /** Lets the list hand over its next page. */
  async nextPage(): Promise<void> {
    await until(() => this.release.length > 0);
    this.release.shift()!();
  }
}

function pagedSetup() {
  const server = new PagedServer();
  const removes: string[] = [];
  const informer = new Informer<Obj>('things', server, {
    upsert: () => undefined,
    remove: (o) => removes.push(o.metadata.name),
  }, new JsonLogger(() => undefined), { minBackoffMs: 60_000 });
  return { server, informer, removes };
}

test('a paged relist replaces cached objects page by page and removes vanished ones only once the list is complete', async () => {
  const { server, informer, removes } = pagedSetup();
  current = informer;
  for (const name of ['a', 'b', 'c', 'd']) server.put(name, '1');
  informer.start();
  await server.nextPage();
  await server.nextPage();
  await informer.waitForSync(1000);
  await until(() => server.watches.length === 1);

  // While no watch ran: a and b changed, d vanished. A relist (the watch told 410 Gone) starts.
  server.put('a', '2');
  server.put('b', '2');
  server.objects.delete('d');
  server.live.onEvent('ERROR', { metadata: { name: '' }, code: 410 } as unknown as Obj);
  await server.nextPage();
  await until(() => informer.get('a', 'ns')?.value === '2');
  // The first page is in the cache before the rest has arrived; nothing was removed yet.
  expect(informer.get('b', 'ns')?.value).toBe('2');
  expect(informer.get('d', 'ns')).toBeDefined();
  expect(removes).toEqual([]);
  await server.nextPage();
  await until(() => removes.length === 1);
  expect(removes).toEqual(['d']);
  expect(informer.list().map((o) => `${o.metadata.name}=${o.value}`).sort()).toEqual(['a=2', 'b=2', 'c=1']);
});

test('a paged list that fails half way keeps what it stored and removes nothing', async () => {
  const { server, informer, removes } = pagedSetup();
  current = informer;
  for (const name of ['a', 'b', 'c']) server.put(name, '1');
  server.failAfterPages = 1;
  informer.start();
  await server.nextPage();
  await server.nextPage();
  await until(() => server.lists === 1 && informer.unhealthyForMs > 0);
  expect(informer.hasSynced).toBe(false);
  expect(informer.list().map((o) => o.metadata.name).sort()).toEqual(['a', 'b']);
  expect(removes).toEqual([]);
});

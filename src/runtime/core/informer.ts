/**
 * A list-watch cache that keeps itself alive.
 *
 * client-node's own informer stops for good on any error other than 410 and can sit on a
 * watch that silently receives nothing. This one:
 * - restarts after any error, with exponential backoff (no storm of watch requests);
 * - asks the server to end each watch after a while (`timeoutSeconds`) and rewatches from
 *   the last resourceVersion, so a healthy watch shows activity at least that often;
 * - treats a watch with no activity for longer than that as stalled and relists;
 * - relists on a timer anyway, replaying every object to the handlers, which is the
 *   periodic resync a level-triggered controller relies on.
 *
 * The API access is a port, so this file does not load client-node and is unit-tested
 * with a fake server.
 */
import { isGone, statusCode } from './errors';
import type { Logger } from '../ops/log';
import type { KubeObject, ListWatchPort, WatchHandle } from '../ports/list-watch';

export interface InformerHandlers<T> {
  /** An object was added or changed, or was seen again by a relist. */
  upsert(obj: T): void;
  remove(obj: T): void;
}

export interface InformerOptions {
  /** Full relist period. @default 600000 (10 minutes, +-10% jitter) */
  readonly relistIntervalMs?: number;
  /** The server ends each watch after this long. @default 300 (+-10% jitter) */
  readonly watchTimeoutSeconds?: number;
  /** No event and no watch end for this long means the watch is stalled. @default watch timeout + 60 s */
  readonly stallTimeoutMs?: number;
  /** @default 500 */
  readonly minBackoffMs?: number;
  /** @default 30000 */
  readonly maxBackoffMs?: number;
  /** Called when the informer relists for a reason other than starting. */
  readonly onRestart?: (reason: 'error' | 'stalled' | 'expired' | 'periodic') => void;
  readonly onError?: (error: unknown) => void;
}

type WatchOutcome =
  | { kind: 'closed' | 'expired' | 'stalled' | 'relist' | 'stopped'; rv: string }
  | { kind: 'error'; rv: string; error: unknown };

export class Informer<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private running = false;
  private stopped = false;
  private synced = false;
  private lastActivity = Date.now();
  private unhealthySince?: number;
  private wake?: () => void;
  private loopDone?: Promise<void>;
  private readonly relistIntervalMs: number;
  private readonly watchTimeoutSeconds: number;
  private readonly stallTimeoutMs: number;
  private readonly minBackoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(
    readonly resource: string,
    private readonly port: ListWatchPort<T>,
    private readonly handlers: InformerHandlers<T>,
    private readonly log: Logger,
    private readonly options: InformerOptions = {},
  ) {
    this.relistIntervalMs = options.relistIntervalMs ?? 600_000;
    this.watchTimeoutSeconds = options.watchTimeoutSeconds ?? 300;
    this.stallTimeoutMs = options.stallTimeoutMs ?? this.watchTimeoutSeconds * 1000 * 1.1 + 60_000;
    this.minBackoffMs = options.minBackoffMs ?? 500;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
  }

  /** True once a list since the last {@link start} has filled the cache (stays true across relists). */
  get hasSynced(): boolean {
    return this.synced;
  }

  /** Milliseconds the informer has been failing to list or watch (0 when fine). */
  get unhealthyForMs(): number {
    return this.unhealthySince === undefined ? 0 : Date.now() - this.unhealthySince;
  }

  get(name: string, namespace?: string): T | undefined {
    return this.cache.get(keyOf(name, namespace));
  }

  list(): T[] {
    return [...this.cache.values()];
  }

  /** Starts the list-watch loop; a second call while running does nothing. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    // A cache kept from before a stop may be stale: callers wait for a fresh list.
    this.synced = false;
    this.loopDone = this.loop().finally(() => { this.running = false; });
  }

  /** Stops watching and resolves when the loop has ended. The cache is kept. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loopDone;
  }

  /** Resolves once synced, or rejects after `timeoutMs`. */
  async waitForSync(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.synced) {
      if (this.stopped) throw new Error(`${this.resource} informer stopped before it synced`);
      if (Date.now() > deadline) throw new Error(`${this.resource} informer did not sync within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  private async loop(): Promise<void> {
    let failures = 0;
    let reason: 'error' | 'stalled' | 'expired' | 'periodic' | undefined;
    while (!this.stopped) {
      try {
        if (reason) this.options.onRestart?.(reason);
        // Each page replaces its objects in the cache as it arrives, so the old objects become
        // garbage page by page: a relist never holds the whole old cache and the whole new list.
        const seen = new Set<string>();
        const listed = await this.port.list((page) => this.storeListed(page, seen));
        if (this.stopped) break;
        this.storeListed(listed.items, seen);
        this.dropUnseen(seen);
        this.synced = true;
        this.unhealthySince = undefined;
        failures = 0;
        let rv = listed.resourceVersion;
        const relistAt = Date.now() + jitter(this.relistIntervalMs);
        for (;;) {
          const outcome = await this.watchOnce(rv, relistAt);
          rv = outcome.rv;
          if (outcome.kind === 'error') throw outcome.error;
          if (outcome.kind === 'closed' && Date.now() < relistAt) continue;
          reason = outcome.kind === 'closed' || outcome.kind === 'relist' ? 'periodic' : outcome.kind === 'stopped' ? undefined : outcome.kind;
          if (reason === 'stalled') this.log.warn('watch stalled; relisting', { resource: this.resource, idleMs: Date.now() - this.lastActivity });
          break;
        }
      } catch (error) {
        if (this.stopped) break;
        failures++;
        reason = 'error';
        this.unhealthySince ??= Date.now();
        this.options.onError?.(error);
        const delay = Math.min(this.maxBackoffMs, this.minBackoffMs * 2 ** Math.min(failures - 1, 20));
        this.log.warn('list/watch failed; retrying', { resource: this.resource, error, status: statusCode(error), retryInMs: delay });
        await this.sleep(jitter(delay));
      }
    }
  }

  /** Runs one watch until it closes, fails, stalls, is due for a relist or is stopped. */
  private async watchOnce(resourceVersion: string, relistAt: number): Promise<WatchOutcome> {
    let rv = resourceVersion;
    let settle!: (outcome: WatchOutcome) => void;
    const done = new Promise<WatchOutcome>((resolve) => { settle = resolve; });
    let finished = false;
    const finish = (outcome: WatchOutcome) => {
      if (finished) return;
      finished = true;
      settle(outcome);
    };

    this.lastActivity = Date.now();
    const timeoutSeconds = Math.max(1, Math.round(jitter(this.watchTimeoutSeconds)));
    let handle: WatchHandle | undefined;
    const watchdog = setInterval(() => {
      if (Date.now() - this.lastActivity > this.stallTimeoutMs) finish({ kind: 'stalled', rv });
    }, Math.max(10, Math.min(this.stallTimeoutMs / 4, 5_000)));
    const relistTimer = setTimeout(() => finish({ kind: 'relist', rv }), Math.max(0, relistAt - Date.now()));
    this.wake = () => finish({ kind: 'stopped', rv });

    try {
      handle = await this.port.watch(rv, timeoutSeconds, (type, obj) => {
        if (finished) return;
        this.lastActivity = Date.now();
        if (type === 'ERROR') {
          // A Status object: 410 means our resourceVersion is too old to resume from.
          const gone = statusCode(obj) === 410;
          finish(gone ? { kind: 'expired', rv } : { kind: 'error', rv, error: Object.assign(new Error(`watch error: ${JSON.stringify(obj)}`), { code: statusCode(obj) }) });
          return;
        }
        const next = obj.metadata?.resourceVersion;
        if (next) rv = next;
        if (type === 'ADDED' || type === 'MODIFIED') this.store(obj);
        else if (type === 'DELETED') this.drop(obj);
      }, (error) => {
        if (!error) finish({ kind: 'closed', rv });
        else if (isGone(error)) finish({ kind: 'expired', rv });
        else finish({ kind: 'error', rv, error });
      });
      if (this.stopped) finish({ kind: 'stopped', rv });
      return await done;
    } catch (error) {
      return { kind: 'error', rv, error };
    } finally {
      finished = true;
      clearInterval(watchdog);
      clearTimeout(relistTimer);
      this.wake = undefined;
      handle?.abort();
    }
  }

  /** Stores listed objects (each handed to `upsert`) and notes their keys. */
  private storeListed(items: T[], seen: Set<string>): void {
    for (const obj of items) {
      seen.add(keyFor(obj));
      this.store(obj);
    }
  }

  /** After a complete list: objects it did not return are gone (each handed to `remove`). */
  private dropUnseen(seen: Set<string>): void {
    for (const [key, obj] of [...this.cache]) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.handlers.remove(obj);
      }
    }
  }

  private store(obj: T): void {
    this.cache.set(keyFor(obj), obj);
    this.handlers.upsert(obj);
  }

  private drop(obj: T): void {
    this.cache.delete(keyFor(obj));
    this.handlers.remove(obj);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

function keyOf(name: string, namespace?: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function keyFor(obj: KubeObject): string {
  return keyOf(obj.metadata?.name ?? '', obj.metadata?.namespace);
}

/** +-10% so many controllers (or informers) do not relist in lockstep. */
function jitter(value: number): number {
  return value * (0.9 + Math.random() * 0.2);
}

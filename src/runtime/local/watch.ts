/**
 * When to run discovery: as soon as something may have changed, not on a fixed loop.
 *  - inotify (fs.watch) on each discovery directory sees entries created, removed or renamed
 *    (a new by-id link, a new directory about to be mounted);
 *  - mounting onto an existing directory changes no directory entry, so inotify misses it:
 *    /proc/self/mountinfo is re-read every `pollMs` and compared with the last copy;
 * and bursts (500 mounts in a row) are coalesced into one pass by a debounce.
 */
import * as fs from 'fs';
import { SELF_MOUNTINFO } from './mountinfo';

export interface TriggerOptions {
  /** Directories to watch (the classes' mountDirs). */
  readonly dirs: readonly string[];
  /** Called (debounced) with what fired. */
  readonly onTrigger: (why: string) => void;
  /** Default: this process's mountinfo. */
  readonly mountinfoPath?: string;
  /** How often mountinfo is compared; default 1000 ms. */
  readonly pollMs?: number;
  /** Quiet time before a trigger fires; default 250 ms. */
  readonly debounceMs?: number;
}

export class DiscoveryTrigger {
  private readonly watchers = new Map<string, fs.FSWatcher>();
  private poller?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private lastMountinfo?: string;
  private polling = false;
  private reasons = new Set<string>();

  constructor(private readonly options: TriggerOptions) {}

  public async start(): Promise<void> {
    this.lastMountinfo = await this.readMountinfo();
    this.watchMissing();
    this.poller = setInterval(() => void this.poll(), this.options.pollMs ?? 1000);
    this.poller.unref();
  }

  public stop(): void {
    if (this.poller) clearInterval(this.poller);
    if (this.debounce) clearTimeout(this.debounce);
    this.poller = undefined;
    this.debounce = undefined;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /**
   * Records the mount table a pass worked from. The poll compares against the newest table
   * anyone looked at: a volume mounted and published, then unmounted before the next poll,
   * leaves the polled text unchanged since the previous poll but not since the pass.
   */
  public observed(mountinfo: string): void {
    this.lastMountinfo = mountinfo;
  }

  /** Schedules a trigger after the debounce interval (coalescing with any pending one). */
  public fire(why: string): void {
    this.reasons.add(why);
    if (this.debounce) return;
    this.debounce = setTimeout(() => {
      this.debounce = undefined;
      const reasons = [...this.reasons].join(',');
      this.reasons = new Set();
      this.options.onTrigger(reasons);
    }, this.options.debounceMs ?? 250);
    this.debounce.unref();
  }

  private async readMountinfo(): Promise<string | undefined> {
    try {
      return await fs.promises.readFile(this.options.mountinfoPath ?? SELF_MOUNTINFO, 'utf8');
    } catch {
      return undefined;
    }
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const text = await this.readMountinfo();
      if (text !== this.lastMountinfo) {
        this.lastMountinfo = text;
        this.fire('mountinfo');
      }
      // A directory that did not exist (or whose watch failed) is retried here.
      if (this.watchMissing()) this.fire('watch');
    } finally {
      this.polling = false;
    }
  }

  /** Starts watches on directories without one; true if any started. */
  private watchMissing(): boolean {
    let started = false;
    for (const dir of this.options.dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = fs.watch(dir, { persistent: false }, () => this.fire('inotify'));
        watcher.on('error', () => {
          watcher.close();
          this.watchers.delete(dir);
          this.fire('watch-error');
        });
        this.watchers.set(dir, watcher);
        started = true;
      } catch {
        // Not there yet: the next poll tries again.
      }
    }
    return started;
  }
}

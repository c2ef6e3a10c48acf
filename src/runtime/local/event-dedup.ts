/**
 * Event de-duplication. Discovery runs on every mount change and every resync; a condition
 * that persists (a directory that is not a mount point) must produce one event, not one per
 * pass. A condition is reported again once it has cleared for a full pass and come back, or
 * when its message changes.
 */
import type { EventType } from '../ports/events';
import type { LocalLogger, LocalObjectRef, LocalPvPort } from '../ports/local';

export interface EmitOptions {
  /** Kept across rounds (a condition outside discovery rounds, like a running wipe). */
  readonly sticky?: boolean;
  /** What the condition is about within the object, e.g. the entry name. */
  readonly subject?: string;
}

export class EventDeduper {
  private readonly last = new Map<string, string>();
  private seen = new Set<string>();

  constructor(private readonly port: Pick<LocalPvPort, 'event'>, private readonly log: LocalLogger) {}

  /** Starts a round: keys not emitted again before {@link endRound} are forgotten then. */
  public beginRound(): void {
    this.seen = new Set();
  }

  public endRound(): void {
    for (const key of [...this.last.keys()]) {
      if (!this.seen.has(key) && !key.startsWith('sticky:')) this.last.delete(key);
    }
  }

  /**
   * Emits unless the same message was already emitted for this object, reason and subject.
   * `subject` tells apart conditions of one object that hold at once, such as two entries of
   * a node's discovery directory that are not mount points: without it they would take turns
   * as "the" condition and each would be reported again on every pass. `sticky` conditions
   * survive rounds until {@link forget}.
   */
  public async emit(ref: LocalObjectRef, type: EventType, reason: string, message: string, options: EmitOptions = {}): Promise<void> {
    const key = `${options.sticky ? 'sticky:' : ''}${ref.kind}/${ref.name}/${reason}${options.subject !== undefined ? `/${options.subject}` : ''}`;
    this.seen.add(key);
    if (this.last.get(key) === message) return;
    this.last.set(key, message);
    const log = type === 'Warning' ? this.log.warn : this.log.info;
    log.call(this.log, message, { reason, [ref.kind === 'Node' ? 'node' : 'pv']: ref.name });
    await this.port.event(ref, type, reason, message);
  }

  /** Forgets sticky keys of one object (after its condition is resolved outside rounds). */
  public forget(ref: LocalObjectRef): void {
    const prefix = `sticky:${ref.kind}/${ref.name}/`;
    for (const key of [...this.last.keys()]) if (key.startsWith(prefix)) this.last.delete(key);
  }
}

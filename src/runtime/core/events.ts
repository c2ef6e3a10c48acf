/**
 * Kubernetes Events on the objects we act on (what `kubectl describe pvc` shows).
 *
 * Sending is in the background with bounded concurrency, so a slow events endpoint never
 * slows provisioning. A repeat of the same event on the same object (a retry failing the
 * same way) bumps the count of the existing Event with a merge patch instead of creating
 * a new object each time, as client-go's recorder does.
 */
import { randomBytes } from 'crypto';
import { errorMessage, isNotFound } from './errors';
import { Limiter } from './limiter';
import type { Logger } from '../ops/log';
import type { EventPort, EventSink, EventType, ObjectRef } from '../ports/events';

export interface RecorderOptions {
  /** `source.component` / `reportingComponent`. */
  readonly component: string;
  /** `source.host` / `reportingInstance` (the pod name). */
  readonly instance: string;
  /** @default 8 */
  readonly concurrency?: number;
  /** Events waiting beyond this are dropped (and counted). @default 2000 */
  readonly maxPending?: number;
  readonly onError?: (error: unknown) => void;
}

/** Where cluster-scoped objects' events live, as kubectl expects. */
export const CLUSTER_EVENT_NAMESPACE = 'default';
const MAX_MESSAGE = 1024;
const MAX_REMEMBERED = 4096;

interface Sent {
  readonly name: string;
  readonly namespace: string;
  count: number;
}

export class EventRecorder implements EventSink {
  private readonly sent = new Map<string, Sent>();
  private readonly senders: Limiter;
  private dropped = 0;

  constructor(private readonly port: EventPort, private readonly options: RecorderOptions, private readonly log: Logger) {
    this.senders = new Limiter(options.concurrency ?? 8);
  }

  /** Events dropped because too many were waiting. */
  get droppedCount(): number {
    return this.dropped;
  }

  emit(ref: ObjectRef, type: EventType, reason: string, message: string): void {
    const text = message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE - 3)}...` : message;
    if (this.senders.queued >= (this.options.maxPending ?? 2000)) {
      this.dropped++;
      return;
    }
    // send() reports its own failures and never rejects.
    void this.senders.run(() => this.send(ref, type, reason, text));
  }

  /** Resolves when every queued event has been sent (or failed). */
  flush(): Promise<void> {
    return this.senders.idle();
  }

  private async send(ref: ObjectRef, type: EventType, reason: string, message: string): Promise<void> {
    const namespace = ref.namespace ?? CLUSTER_EVENT_NAMESPACE;
    const key = [ref.uid ?? `${ref.kind}/${ref.namespace}/${ref.name}`, type, reason, message].join('\u0000');
    const now = new Date();
    try {
      const previous = this.sent.get(key);
      if (previous) {
        previous.count++;
        try {
          await this.port.patch(previous.namespace, previous.name, { count: previous.count, lastTimestamp: now });
          return;
        } catch (error) {
          if (!isNotFound(error)) throw error;
          this.sent.delete(key);
        }
      }
      const name = `${ref.name}.${randomBytes(8).toString('hex')}`;
      await this.port.create(namespace, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name, namespace },
        involvedObject: {
          apiVersion: ref.apiVersion,
          kind: ref.kind,
          name: ref.name,
          namespace: ref.namespace,
          uid: ref.uid,
          resourceVersion: ref.resourceVersion,
        },
        type,
        reason,
        message,
        count: 1,
        firstTimestamp: now,
        lastTimestamp: now,
        source: { component: this.options.component, host: this.options.instance },
        reportingComponent: this.options.component,
        reportingInstance: this.options.instance,
      });
      this.remember(key, { name, namespace, count: 1 });
    } catch (error) {
      this.options.onError?.(error);
      this.log.warn('could not record an event', { reason, object: `${ref.kind}/${ref.namespace ? ref.namespace + '/' : ''}${ref.name}`, error: errorMessage(error) });
    }
  }

  private remember(key: string, sent: Sent): void {
    if (this.sent.size >= MAX_REMEMBERED) {
      // Maps iterate in insertion order: drop the oldest.
      this.sent.delete(this.sent.keys().next().value!);
    }
    this.sent.set(key, sent);
  }
}

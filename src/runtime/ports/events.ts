/**
 * Events, as the reconcilers emit them (EventSink, implemented by core/events.ts's
 * recorder) and as the recorder sends them (EventPort, implemented in ../kube/).
 */
import type { CoreV1Event } from '@kubernetes/client-node';

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface EventPort {
  create(namespace: string, event: CoreV1Event): Promise<void>;
  /** Merge-patches an existing Event; 404 when it has expired. */
  patch(namespace: string, name: string, patch: { count: number; lastTimestamp: Date; message?: string }): Promise<void>;
}

/** Where events go; the reconcilers only see this. */
export interface EventSink {
  emit(ref: ObjectRef, type: EventType, reason: string, message: string): void;
}

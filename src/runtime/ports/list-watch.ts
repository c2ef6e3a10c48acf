/**
 * List and watch of one kind, as the informer (core/informer.ts) uses it; implemented in
 * ../kube/, so the informer does not load client-node and is unit-tested without a server.
 */

export interface KubeObject {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
}

export interface WatchHandle {
  abort(): void;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface ListWatchPort<T extends KubeObject> {
  /**
   * Lists every object. With `onPage`, each page is handed to it as it arrives and not kept
   * (`items` comes back empty), so a caller that folds pages into a cache never holds a whole
   * second copy of it; an implementation may also ignore `onPage` and return every item.
   */
  list(onPage?: (items: T[]) => void): Promise<{ items: T[]; resourceVersion: string }>;
  /** Starts a watch; `onDone` is called once when it ends (null for a normal close). */
  watch(
    resourceVersion: string,
    timeoutSeconds: number,
    onEvent: (type: WatchEventType, obj: T) => void,
    onDone: (error: unknown) => void,
  ): Promise<WatchHandle>;
}

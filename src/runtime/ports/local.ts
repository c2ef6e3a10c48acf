/**
 * What the local agent needs from Kubernetes, as a narrow interface. The implementation
 * lives in ../kube/ (the only code that loads @kubernetes/client-node); tests use an in-memory API.
 */
import type { V1Node, V1PersistentVolume } from '@kubernetes/client-node';
import type { EventPort, EventType } from './events';
import type { InformerOptions } from '../core/informer';
import type { Logger } from '../ops/log';

/** The object an event is about. PVs and Nodes are cluster-scoped: their events go to `default`. */
export interface LocalObjectRef {
  readonly kind: 'Node' | 'PersistentVolume';
  readonly name: string;
  readonly uid?: string;
}

/** What a PV watch saw (`undefined` when an implementation cannot tell: treated as relevant). */
export interface PvChange {
  readonly pv: V1PersistentVolume;
  readonly deleted: boolean;
}

/** Delete only if the object is still the one that was looked at. */
export interface DeletePreconditions {
  readonly uid: string;
  /** When set, the delete fails with `conflict` if the PV changed (e.g. got bound) since. */
  readonly resourceVersion?: string;
}

/** The Kubernetes calls shared by the node agent and the node-deletion role. */
export interface LocalPvPort {
  /**
   * PVs matching a label selector (`key=value` or `key`). May be served from an informer
   * cache: the agent calls it on every pass.
   */
  listPVs(labelSelector: string): Promise<V1PersistentVolume[]>;
  /** One PV read from the API server (not a cache): used right before deleting a wiped PV. */
  getPV(name: string): Promise<V1PersistentVolume | undefined>;
  /** `gone` if it did not exist (NotFound), `conflict` if a precondition failed (409). */
  deletePV(name: string, preconditions: DeletePreconditions): Promise<'deleted' | 'gone' | 'conflict'>;
  /** Records an event (the implementation may aggregate repeats); never throws. */
  event(ref: LocalObjectRef, type: EventType, reason: string, message: string): Promise<void>;
}

/** Everything the node agent uses. */
export interface LocalKubePort extends LocalPvPort {
  /** The Node object, or undefined if there is none by that name. */
  getNode(name: string): Promise<V1Node | undefined>;
  /** `exists` if a PV of that name already exists (409 AlreadyExists). */
  createPV(pv: V1PersistentVolume): Promise<'created' | 'exists'>;
  /**
   * Calls `onChange` whenever a PV matching the selector is added, changed or deleted,
   * including after a watch restart, with the PV as it is now (or was, when deleted). The
   * agent re-lists rather than applying the change. Returns a stop function.
   */
  watchPVs(labelSelector: string, onChange: (change?: PvChange) => void): () => void;
}

/** What the node-deletion role uses. */
export interface NodeCleanupPort extends LocalPvPort {
  /** Names of all Node objects. */
  listNodeNames(): Promise<string[]>;
}

/** Structured logging (the ops/ JSON logger fits). */
export interface LocalLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The agent's API calls except events (which go through the command's EventRecorder). */
export type LocalApi = Omit<LocalKubePort, 'event'> & Omit<NodeCleanupPort, 'event'> & {
  /** Milliseconds the PV list/watch has been failing (0 when fine). */
  readonly unhealthyForMs: number;
  stop(): Promise<void>;
};

/** Everything the `local` and node-cleanup commands need from the API server (implemented by ../kube/local-port.ts). */
export interface LocalClusterPorts {
  localApi(log: Logger, informerOptions: InformerOptions): LocalApi;
  eventPort(): EventPort;
}

/**
 * One in-memory API server behind every runtime port, for unit tests: objects by kind,
 * a resourceVersion bumped on every write, watch callbacks, PV create (AlreadyExists) and
 * delete (uid and resourceVersion preconditions), JSON merge patches of claims (main
 * resource or status, with a resourceVersion precondition) and PVs, a Lease with
 * compare-and-swap, Events, and a log of the requests made.
 *
 * The ports are views of it: `clusterPorts()` (the nfs command), `localPort()` and
 * `localClusterPorts()` (the local agent and the node-cleanup role).
 */
import type { CoreV1Event, V1Node, V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import { K8S } from '../../../src/contract/keys';
import type { EventPort, EventType } from '../../../src/runtime/ports/events';
import type { LeasePort, LeaseRecord } from '../../../src/runtime/ports/leases';
import type { ListWatchPort, WatchEventType } from '../../../src/runtime/ports/list-watch';
import type { DeletePreconditions, LocalClusterPorts, LocalKubePort, LocalLogger, LocalObjectRef, NodeCleanupPort, PvChange } from '../../../src/runtime/ports/local';
import type { ClaimPatcher, ClusterPorts, Lookup, MergePatch } from '../../../src/runtime/ports/nfs-api';

type Obj = { metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string; labels?: Record<string, string> } };
type Watcher<T> = { onEvent: (type: WatchEventType, obj: T) => void; onDone: (error: unknown) => void };

const clone = <T>(obj: T): T => structuredClone(obj);
const apiError = (code: number, message: string) => Object.assign(new Error(message), { code });

/** The objects of one kind, listed and watched as the API server would serve them. */
export class MemoryStore<T extends Obj> implements ListWatchPort<T> {
  private readonly objects = new Map<string, T>();
  private readonly watchers = new Set<Watcher<T>>();

  constructor(private readonly nextVersion: () => string) {}

  async list() {
    return { items: this.all(), resourceVersion: this.nextVersion() };
  }

  async watch(_rv: string, _timeoutSeconds: number, onEvent: Watcher<T>['onEvent'], onDone: Watcher<T>['onDone']) {
    const watcher = { onEvent, onDone };
    this.watchers.add(watcher);
    return { abort: () => { this.watchers.delete(watcher); } };
  }

  /** Calls `onEvent` on every change from now on (synchronously registered); returns a stop function. */
  subscribe(onEvent: Watcher<T>['onEvent']): () => void {
    const watcher = { onEvent, onDone: () => undefined };
    this.watchers.add(watcher);
    return () => { this.watchers.delete(watcher); };
  }

  get(name: string, namespace?: string): T | undefined {
    const obj = this.objects.get(key(name, namespace));
    return obj ? clone(obj) : undefined;
  }

  has(name: string, namespace?: string): boolean {
    return this.objects.has(key(name, namespace));
  }

  get size(): number {
    return this.objects.size;
  }

  names(): string[] {
    return [...this.objects.values()].map((obj) => obj.metadata!.name!);
  }

  all(): T[] {
    return [...this.objects.values()].map(clone);
  }

  /** The objects as an informer's cache shows them to a reconciler. */
  lookup(): Lookup<T> {
    return { get: (name, namespace) => this.get(name, namespace), list: () => this.all() };
  }

  /** Creates or replaces the object (a new resourceVersion) and tells every watch. */
  put(obj: T): T {
    const stored = clone(obj);
    stored.metadata = { ...stored.metadata, resourceVersion: this.nextVersion() };
    const k = key(stored.metadata.name!, stored.metadata.namespace);
    const type = this.objects.has(k) ? 'MODIFIED' : 'ADDED';
    this.objects.set(k, stored);
    for (const w of this.watchers) w.onEvent(type, clone(stored));
    return clone(stored);
  }

  remove(name: string, namespace?: string): void {
    const k = key(name, namespace);
    const obj = this.objects.get(k);
    if (!obj) return;
    this.objects.delete(k);
    obj.metadata!.resourceVersion = this.nextVersion();
    for (const w of this.watchers) w.onEvent('DELETED', clone(obj));
  }
}

/** An event the local port recorded (LocalPvPort.event). */
export interface RecordedEvent {
  readonly ref: LocalObjectRef;
  readonly type: EventType;
  readonly reason: string;
  readonly message: string;
}

export class MemoryApi {
  readonly claims = new MemoryStore<V1PersistentVolumeClaim>(() => this.nextVersion());
  readonly volumes = new MemoryStore<V1PersistentVolume>(() => this.nextVersion());
  readonly classes = new MemoryStore<V1StorageClass>(() => this.nextVersion());
  readonly nodes = new MemoryStore<V1Node>(() => this.nextVersion());
  /** Events sent through the EventPort. */
  readonly events: CoreV1Event[] = [];
  /** Events recorded through the local port's `event`. */
  readonly recordedEvents: RecordedEvent[] = [];
  /** Every patch call, in order. */
  readonly patches: Array<{ kind: 'claim' | 'claim/status' | 'volume'; name: string; patch: MergePatch; resourceVersion?: string }> = [];
  /** The local port's requests, in order (`getNode <name>`, `listPVs <selector>`, `createPV <name>`, `deletePV <name>`). */
  readonly requests: string[] = [];
  lease?: LeaseRecord;
  /** While true, every Lease request fails as it does when the API server is down (503). */
  leaseUnreachable = false;
  /** One counter for every kind, as the API server's resourceVersion. */
  private version = 1000;
  private frozenList?: V1PersistentVolume[];

  /** Creates a PV as the API server does (uid, Available); `exists` when the name is taken. */
  createPv(pv: V1PersistentVolume): 'created' | 'exists' {
    const name = pv.metadata!.name!;
    if (this.volumes.has(name)) return 'exists';
    this.volumes.put({ ...clone(pv), metadata: { ...pv.metadata, uid: `uid-${name}-${this.nextVersion()}` }, status: { phase: 'Available' } });
    return 'created';
  }

  /** Deletes a PV under preconditions, as kube/pv-writes.ts reports it. */
  deletePv(name: string, preconditions: { uid?: string; resourceVersion?: string }): 'deleted' | 'gone' | 'conflict' {
    const pv = this.volumes.get(name);
    if (!pv) return 'gone';
    const { uid, resourceVersion } = preconditions;
    if ((uid !== undefined && pv.metadata?.uid !== uid) || (resourceVersion !== undefined && pv.metadata?.resourceVersion !== resourceVersion)) return 'conflict';
    this.volumes.remove(name);
    return 'deleted';
  }

  /** Ports of the nfs command. */
  clusterPorts(): ClusterPorts {
    return {
      claims: () => this.claims,
      volumes: () => this.volumes,
      storageClasses: () => this.classes,
      volumeWriter: () => ({
        createVolume: async (pv) => this.createPv(pv),
        // As kube/client.ts: a PV that is no longer the one looked at counts as gone.
        deleteVolume: async (name, uid) => (this.deletePv(name, { uid: uid || undefined }) === 'deleted' ? 'deleted' : 'gone'),
      }),
      claimPatcher: () => this.claimPatcher(),
      eventPort: () => this.eventPort(),
      leasePort: () => this.leasePort(),
    };
  }

  claimPatcher(): ClaimPatcher {
    const patchClaim = async (kind: 'claim' | 'claim/status', namespace: string, name: string, patch: MergePatch, precondition?: string) => {
      this.patches.push({ kind, name: `${namespace}/${name}`, patch, resourceVersion: precondition });
      const current = this.claims.get(name, namespace);
      if (!current) throw apiError(404, 'not found');
      if (precondition && current.metadata?.resourceVersion !== precondition) throw apiError(409, 'the object has been modified');
      const merged = mergePatch(current, patch) as V1PersistentVolumeClaim;
      // The status subresource ignores spec changes; the main resource ignores status changes.
      if (kind === 'claim/status') merged.spec = current.spec;
      else merged.status = current.status;
      return this.claims.put(merged);
    };
    return {
      patchClaimStatus: (namespace, name, patch, rv) => patchClaim('claim/status', namespace, name, patch, rv),
      patchClaim: (namespace, name, patch, rv) => patchClaim('claim', namespace, name, patch, rv),
      patchVolume: async (name, patch) => {
        this.patches.push({ kind: 'volume', name, patch });
        const current = this.volumes.get(name);
        if (!current) throw apiError(404, 'not found');
        return this.volumes.put(mergePatch(current, patch) as V1PersistentVolume);
      },
    };
  }

  eventPort(): EventPort {
    return {
      create: async (_namespace, event) => { this.events.push(event); },
      patch: async (_namespace, name, patch) => {
        const event = this.events.find((e) => e.metadata?.name === name);
        if (!event) throw apiError(404, 'not found');
        event.count = patch.count;
      },
    };
  }

  leasePort(): LeasePort {
    const reach = () => {
      if (this.leaseUnreachable) throw apiError(503, 'connection refused');
    };
    return {
      get: async () => {
        reach();
        return this.lease;
      },
      create: async (record) => {
        reach();
        if (this.lease) throw apiError(409, 'AlreadyExists');
        this.lease = { ...record, resourceVersion: this.nextVersion() };
        return this.lease;
      },
      update: async (record) => {
        reach();
        if (!this.lease || this.lease.resourceVersion !== record.resourceVersion) throw apiError(409, 'Conflict');
        this.lease = { ...record, resourceVersion: this.nextVersion() };
        return this.lease;
      },
    };
  }

  /** The local agent's and the node-cleanup role's port. */
  localPort(): LocalKubePort & NodeCleanupPort {
    return {
      getNode: async (name) => {
        this.requests.push(`getNode ${name}`);
        return this.nodes.get(name);
      },
      listNodeNames: async () => this.nodes.names(),
      listPVs: async (selector) => {
        this.requests.push(`listPVs ${selector}`);
        return (this.frozenList ?? this.volumes.all()).filter((pv) => matches(pv, selector)).map(clone);
      },
      getPV: async (name) => this.volumes.get(name),
      createPV: async (pv) => {
        this.requests.push(`createPV ${pv.metadata?.name}`);
        return this.createPv(pv);
      },
      deletePV: async (name: string, preconditions: DeletePreconditions) => {
        this.requests.push(`deletePV ${name}`);
        return this.deletePv(name, preconditions);
      },
      event: async (ref, type, reason, message) => {
        this.recordedEvents.push({ ref, type, reason, message });
      },
      watchPVs: (selector, onChange) => this.watchSelected(selector, onChange),
    };
  }

  /** Ports for `runLocal` / `runNodeCleanup`; events are recorded as `Kind/name Reason` in `sent`. */
  localClusterPorts(sent: string[]): LocalClusterPorts {
    return {
      localApi: () => ({ ...this.localPort(), unhealthyForMs: 0, stop: async () => undefined }),
      eventPort: () => ({
        create: async (_namespace, event) => {
          sent.push(`${event.involvedObject.kind}/${event.involvedObject.name} ${event.reason}`);
        },
        patch: async () => undefined,
      }),
    };
  }

  /** From now on listPVs answers with these PVs, like an informer cache that lags. */
  freezeList(pvs: V1PersistentVolume[]): void {
    this.frozenList = pvs;
  }

  thawList(): void {
    this.frozenList = undefined;
  }

  addNode(name: string, hostname: string | undefined): void {
    this.nodes.put({ metadata: { name, uid: `node-uid-${name}`, labels: hostname ? { [K8S.hostnameLabel]: hostname } : {} } });
  }

  /** What the PV controller would do: bind a claim, or release it. */
  setPhase(name: string, phase: 'Bound' | 'Released' | 'Available'): void {
    const pv = this.volumes.get(name);
    if (!pv) throw new Error(`no PV ${name}`);
    const claimRef = phase === 'Available' ? undefined : { namespace: 'app', name: 'data', uid: 'claim-uid' };
    this.volumes.put({ ...pv, spec: { ...pv.spec, claimRef }, status: { phase } });
  }

  eventsFor(reason: string): RecordedEvent[] {
    return this.recordedEvents.filter((e) => e.reason === reason);
  }

  private nextVersion(): string {
    return String(++this.version);
  }

  private watchSelected(selector: string, onChange: (change?: PvChange) => void): () => void {
    const notify = (type: WatchEventType, pv: V1PersistentVolume) => {
      if (matches(pv, selector)) onChange({ pv, deleted: type === 'DELETED' });
    };
    return this.volumes.subscribe(notify);
  }
}

/** RFC 7386: objects merge key by key, null deletes, everything else (lists too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return clone(patch);
  const out: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as object) } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** A logger that keeps lines for assertions (and stays quiet). */
export function memoryLogger(): LocalLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
    error: (m) => lines.push(`error ${m}`),
  };
}

function key(name: string, namespace?: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

function matches(pv: Obj, selector: string): boolean {
  const [label, value] = selector.split('=');
  const labels = pv.metadata?.labels ?? {};
  return value === undefined ? label in labels : labels[label] === value;
}

/**
 * An in-memory stand-in for the API server behind the nfs command's ports: list and watch
 * with resourceVersions, PV create/delete with AlreadyExists and uid preconditions, JSON
 * merge patches of claims (main resource or status, with a resourceVersion precondition)
 * and PVs, a Lease with compare-and-swap, and recorded Events.
 */
import type { CoreV1Event, V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import type { LeasePort, LeaseRecord } from '../../../src/runtime/ports/leases';
import type { ListWatchPort, WatchEventType } from '../../../src/runtime/ports/list-watch';
import type { ClaimPatcher, ClusterPorts, MergePatch } from '../../../src/runtime/ports/nfs-api';

type Obj = { metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string } };
type Watcher<T> = { onEvent: (type: WatchEventType, obj: T) => void; onDone: (error: unknown) => void };

const clone = <T>(obj: T): T => JSON.parse(JSON.stringify(obj));
const apiError = (code: number, message: string) => Object.assign(new Error(message), { code });

let resourceVersion = 1000;

export class FakeResource<T extends Obj> implements ListWatchPort<T> {
  private readonly objects = new Map<string, T>();
  private readonly watchers = new Set<Watcher<T>>();

  async list() {
    return { items: [...this.objects.values()].map(clone), resourceVersion: String(resourceVersion) };
  }

  async watch(_rv: string, _timeoutSeconds: number, onEvent: Watcher<T>['onEvent'], onDone: Watcher<T>['onDone']) {
    const watcher = { onEvent, onDone };
    this.watchers.add(watcher);
    return { abort: () => { this.watchers.delete(watcher); } };
  }

  get(name: string, namespace?: string): T | undefined {
    const obj = this.objects.get(key(name, namespace));
    return obj ? clone(obj) : undefined;
  }

  all(): T[] {
    return [...this.objects.values()].map(clone);
  }

  put(obj: T): T {
    const stored = clone(obj);
    stored.metadata = { ...stored.metadata, resourceVersion: String(++resourceVersion) };
    const k = key(stored.metadata.name!, stored.metadata.namespace);
    const type = this.objects.has(k) ? 'MODIFIED' : 'ADDED';
    this.objects.set(k, stored);
    for (const w of this.watchers) w.onEvent(type, clone(stored));
    return stored;
  }

  remove(name: string, namespace?: string): void {
    const k = key(name, namespace);
    const obj = this.objects.get(k);
    if (!obj) return;
    this.objects.delete(k);
    obj.metadata!.resourceVersion = String(++resourceVersion);
    for (const w of this.watchers) w.onEvent('DELETED', clone(obj));
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

function key(name: string, namespace?: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export class FakeCluster implements ClusterPorts {
  readonly claimStore = new FakeResource<V1PersistentVolumeClaim>();
  readonly volumeStore = new FakeResource<V1PersistentVolume>();
  readonly classStore = new FakeResource<V1StorageClass>();
  readonly events: CoreV1Event[] = [];
  /** Every patch call, in order. */
  readonly patches: Array<{ kind: 'claim' | 'claim/status' | 'volume'; name: string; patch: MergePatch; resourceVersion?: string }> = [];
  lease?: LeaseRecord;
  private leaseVersion = 0;

  claims() { return this.claimStore; }
  volumes() { return this.volumeStore; }
  storageClasses() { return this.classStore; }

  volumeWriter() {
    return {
      createVolume: async (pv: V1PersistentVolume) => {
        if (this.volumeStore.get(pv.metadata!.name!)) return 'exists' as const;
        this.volumeStore.put({ ...pv, metadata: { ...pv.metadata, uid: `uid-${pv.metadata!.name}` }, status: { phase: 'Available' } });
        return 'created' as const;
      },
      deleteVolume: async (name: string, uid: string | undefined) => {
        const pv = this.volumeStore.get(name);
        if (!pv || (uid && pv.metadata?.uid !== uid)) return 'gone' as const;
        this.volumeStore.remove(name);
        return 'deleted' as const;
      },
    };
  }

  claimPatcher(): ClaimPatcher {
    const patchClaim = async (kind: 'claim' | 'claim/status', namespace: string, name: string, patch: MergePatch, precondition?: string) => {
      this.patches.push({ kind, name: `${namespace}/${name}`, patch, resourceVersion: precondition });
      const current = this.claimStore.get(name, namespace);
      if (!current) throw apiError(404, 'not found');
      if (precondition && current.metadata?.resourceVersion !== precondition) throw apiError(409, 'the object has been modified');
      const merged = mergePatch(current, patch) as V1PersistentVolumeClaim;
      // The status subresource ignores spec changes; the main resource ignores status changes.
      if (kind === 'claim/status') merged.spec = current.spec;
      else merged.status = current.status;
      return this.claimStore.put(merged);
    };
    return {
      patchClaimStatus: (namespace, name, patch, rv) => patchClaim('claim/status', namespace, name, patch, rv),
      patchClaim: (namespace, name, patch, rv) => patchClaim('claim', namespace, name, patch, rv),
      patchVolume: async (name, patch) => {
        this.patches.push({ kind: 'volume', name, patch });
        const current = this.volumeStore.get(name);
        if (!current) throw apiError(404, 'not found');
        return this.volumeStore.put(mergePatch(current, patch) as V1PersistentVolume);
      },
    };
  }

  eventPort() {
    return {
      create: async (_namespace: string, event: CoreV1Event) => { this.events.push(event); },
      patch: async (_namespace: string, name: string, patch: { count: number }) => {
        const event = this.events.find((e) => e.metadata?.name === name);
        if (!event) throw apiError(404, 'not found');
        event.count = patch.count;
      },
    };
  }

  leasePort(): LeasePort {
    return {
      get: async () => this.lease,
      create: async (record) => {
        if (this.lease) throw apiError(409, 'AlreadyExists');
        this.lease = { ...record, resourceVersion: String(++this.leaseVersion) };
        return this.lease;
      },
      update: async (record) => {
        if (!this.lease || this.lease.resourceVersion !== record.resourceVersion) throw apiError(409, 'Conflict');
        this.lease = { ...record, resourceVersion: String(++this.leaseVersion) };
        return this.lease;
      },
    };
  }
}

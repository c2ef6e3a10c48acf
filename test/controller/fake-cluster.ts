/**
 * An in-memory stand-in for the API server behind the nfs command's ports: list and watch
 * with resourceVersions, PV create/delete with AlreadyExists and uid preconditions, a
 * Lease with compare-and-swap, and recorded Events.
 */
import type { CoreV1Event, V1PersistentVolume, V1PersistentVolumeClaim, V1StorageClass } from '@kubernetes/client-node';
import type { ListWatchPort, WatchEventType } from '../../src/controller/kube/informer';
import type { LeasePort, LeaseRecord } from '../../src/controller/kube/leader';
import type { ClusterPorts } from '../../src/controller/nfs/run';

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

function key(name: string, namespace?: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export class FakeCluster implements ClusterPorts {
  readonly claimStore = new FakeResource<V1PersistentVolumeClaim>();
  readonly volumeStore = new FakeResource<V1PersistentVolume>();
  readonly classStore = new FakeResource<V1StorageClass>();
  readonly events: CoreV1Event[] = [];
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

/** An in-memory stand-in for the API server behind the local agent's port. */
import type { V1Node, V1PersistentVolume } from '@kubernetes/client-node';
import { K8S } from '../../../src/contract/keys';
import type { EventType } from '../../../src/runtime/ports/events';
import type { DeletePreconditions, LocalClusterPorts, LocalKubePort, LocalLogger, LocalObjectRef, NodeCleanupPort, PvChange } from '../../../src/runtime/ports/local';

export interface RecordedEvent {
  readonly ref: LocalObjectRef;
  readonly type: EventType;
  readonly reason: string;
  readonly message: string;
}

function matches(pv: V1PersistentVolume, selector: string): boolean {
  const [key, value] = selector.split('=');
  const labels = pv.metadata?.labels ?? {};
  return value === undefined ? key in labels : labels[key] === value;
}

export class FakeCluster {
  public readonly pvs = new Map<string, V1PersistentVolume>();
  public readonly nodes = new Map<string, V1Node>();
  public readonly events: RecordedEvent[] = [];
  public readonly calls: string[] = [];
  private readonly watchers = new Set<{ selector: string; onChange: (change?: PvChange) => void }>();
  private seq = 0;
  private frozen?: V1PersistentVolume[];

  /** A copy of the PVs as they are now. */
  public snapshot(): V1PersistentVolume[] {
    return [...this.pvs.values()].map(pv => structuredClone(pv));
  }

  /** From now on listPVs answers with these PVs, like an informer cache that lags. */
  public freezeList(pvs: V1PersistentVolume[]): void {
    this.frozen = pvs;
  }

  public thawList(): void {
    this.frozen = undefined;
  }

  public addNode(name: string, hostname: string | undefined): void {
    this.nodes.set(name, { metadata: { name, uid: `node-uid-${name}`, labels: hostname ? { [K8S.hostnameLabel]: hostname } : {} } });
  }

  /** What the PV controller would do: bind a claim, or release it. */
  public setPhase(name: string, phase: 'Bound' | 'Released' | 'Available'): void {
    const pv = this.pvs.get(name);
    if (!pv) throw new Error(`no PV ${name}`);
    const claimRef = phase === 'Available' ? undefined : { namespace: 'app', name: 'data', uid: 'claim-uid' };
    this.update({ ...pv, spec: { ...pv.spec, claimRef }, status: { phase } });
  }

  public eventsFor(reason: string): RecordedEvent[] {
    return this.events.filter(e => e.reason === reason);
  }

  private update(pv: V1PersistentVolume): void {
    this.pvs.set(pv.metadata!.name!, { ...pv, metadata: { ...pv.metadata, resourceVersion: String(++this.seq) } });
    this.notify(pv);
  }

  private notify(pv: V1PersistentVolume, deleted = false): void {
    for (const w of this.watchers) if (matches(pv, w.selector)) w.onChange({ pv: structuredClone(pv), deleted });
  }

  public port(): LocalKubePort & NodeCleanupPort {
    return {
      getNode: async name => {
        this.calls.push(`getNode ${name}`);
        return this.nodes.get(name);
      },
      listNodeNames: async () => [...this.nodes.keys()],
      listPVs: async selector => {
        this.calls.push(`listPVs ${selector}`);
        return (this.frozen ?? [...this.pvs.values()]).filter(pv => matches(pv, selector)).map(pv => structuredClone(pv));
      },
      getPV: async name => {
        const pv = this.pvs.get(name);
        return pv ? structuredClone(pv) : undefined;
      },
      createPV: async pv => {
        this.calls.push(`createPV ${pv.metadata?.name}`);
        if (this.pvs.has(pv.metadata!.name!)) return 'exists';
        this.update({ ...structuredClone(pv), metadata: { ...pv.metadata, uid: `pv-uid-${++this.seq}` }, status: { phase: 'Available' } });
        return 'created';
      },
      deletePV: async (name: string, pre: DeletePreconditions) => {
        this.calls.push(`deletePV ${name}`);
        const pv = this.pvs.get(name);
        if (!pv) return 'gone';
        if (pv.metadata?.uid !== pre.uid || (pre.resourceVersion !== undefined && pv.metadata?.resourceVersion !== pre.resourceVersion)) return 'conflict';
        this.pvs.delete(name);
        this.notify(pv, true);
        return 'deleted';
      },
      event: async (ref, type, reason, message) => {
        this.events.push({ ref, type, reason, message });
      },
      watchPVs: (selector, onChange) => {
        const w = { selector, onChange };
        this.watchers.add(w);
        return () => this.watchers.delete(w);
      },
    };
  }
}

/** A logger that keeps lines for assertions (and stays quiet). */
export function memoryLogger(): LocalLogger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: m => lines.push(`info ${m}`),
    warn: m => lines.push(`warn ${m}`),
    error: m => lines.push(`error ${m}`),
  };
}

/** Ports for `runLocal` / `runNodeCleanup` over a fake cluster; events are recorded as `Kind/name Reason` in `sent`. */
export function localClusterPorts(cluster: FakeCluster, sent: string[]): LocalClusterPorts {
  return {
    localApi: () => ({ ...cluster.port(), unhealthyForMs: 0, stop: async () => undefined }),
    eventPort: () => ({
      create: async (_namespace, event) => {
        sent.push(`${event.involvedObject.kind}/${event.involvedObject.name} ${event.reason}`);
      },
      patch: async () => undefined,
    }),
  };
}

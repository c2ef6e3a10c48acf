/**
 * The local node agent's API access (ports/local.ts's LocalClusterPorts) on the real API,
 * as plain JSON requests on client.ts's shared pool (client.ts is the only module that loads client-node).
 *
 * Each agent watches only its own node's PVs (a label selector), so a cluster of N nodes
 * does not have N processes caching every PV. PV lists are served from that informer's
 * cache once it has synced; reads that decide a wipe (`getPV`) go to the API server.
 */
import type { KubeConfig, V1Node, V1PersistentVolume } from '@kubernetes/client-node';
import { KubeClient, PAGE_SIZE } from './client';
import { listNodeNames, readNode, readPv } from './object-reads';
import { createPv, deletePv } from './pv-writes';
import { Informer, InformerOptions } from '../core/informer';
import type { Logger } from '../ops/log';
import type { EventPort } from '../ports/events';
import type { DeletePreconditions, LocalApi, LocalClusterPorts, PvChange } from '../ports/local';

interface Selected {
  readonly informer: Informer<V1PersistentVolume>;
  readonly listeners: Set<(change?: PvChange) => void>;
}

/** Connects the `local` command to the API server described by `kc`. */
export class LocalClusterClient implements LocalClusterPorts {
  private readonly client: KubeClient;

  constructor(kc: KubeConfig) {
    this.client = new KubeClient(kc);
  }

  localApi(log: Logger, informerOptions: InformerOptions): LocalApi {
    return new LocalKubeApi(this.client, log, informerOptions);
  }

  eventPort(): EventPort {
    return this.client.eventPort();
  }
}

export class LocalKubeApi implements LocalApi {
  private readonly selected = new Map<string, Selected>();

  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly informerOptions: InformerOptions = {},
  ) {}

  /** Milliseconds the longest-failing PV informer has been failing (0 when all are fine). */
  get unhealthyForMs(): number {
    return Math.max(0, ...[...this.selected.values()].map((s) => s.informer.unhealthyForMs));
  }

  getNode(name: string): Promise<V1Node | undefined> {
    return readNode(this.client.requests, name);
  }

  listNodeNames(): Promise<string[]> {
    return listNodeNames(this.client.requests, PAGE_SIZE);
  }

  async listPVs(labelSelector: string): Promise<V1PersistentVolume[]> {
    const informer = this.selected.get(labelSelector)?.informer;
    if (informer?.hasSynced) return informer.list();
    return (await this.client.volumes(labelSelector).list()).items;
  }

  getPV(name: string): Promise<V1PersistentVolume | undefined> {
    return readPv(this.client.requests, name);
  }

  createPV(pv: V1PersistentVolume): Promise<'created' | 'exists'> {
    return createPv(this.client.requests, pv);
  }

  deletePV(name: string, preconditions: DeletePreconditions): Promise<'deleted' | 'gone' | 'conflict'> {
    return deletePv(this.client.requests, name, preconditions);
  }

  watchPVs(labelSelector: string, onChange: (change?: PvChange) => void): () => void {
    let entry = this.selected.get(labelSelector);
    if (!entry) {
      const listeners = new Set<(change?: PvChange) => void>();
      const notify = (change: PvChange) => listeners.forEach((l) => l(change));
      const informer = new Informer<V1PersistentVolume>(`persistentvolumes(${labelSelector})`, this.client.volumes(labelSelector),
        { upsert: (pv) => notify({ pv, deleted: false }), remove: (pv) => notify({ pv, deleted: true }) }, this.log, this.informerOptions);
      entry = { informer, listeners };
      this.selected.set(labelSelector, entry);
      informer.start();
    }
    const { listeners, informer } = entry;
    listeners.add(onChange);
    return () => {
      listeners.delete(onChange);
      if (listeners.size === 0) {
        this.selected.delete(labelSelector);
        void informer.stop();
      }
    };
  }

  /** Stops every informer. */
  async stop(): Promise<void> {
    const all = [...this.selected.values()];
    this.selected.clear();
    await Promise.all(all.map((s) => s.informer.stop()));
  }
}

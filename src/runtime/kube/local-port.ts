/**
 * The local node agent's API access (ports/local.ts's LocalClusterPorts) on the real API,
 * through client.ts's API objects (client.ts is the only module that loads client-node).
 *
 * Each agent watches only its own node's PVs (a label selector), so a cluster of N nodes
 * does not have N processes caching every PV. PV lists are served from that informer's
 * cache once it has synced; reads that decide a wipe (`getPV`) go to the API server.
 */
import type { KubeConfig, V1Node, V1PersistentVolume } from '@kubernetes/client-node';
import { KubeClient, PAGE_SIZE } from './client';
import { createPv, deletePv } from './pv-writes';
import { isNotFound } from '../core/errors';
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

  async getNode(name: string): Promise<V1Node | undefined> {
    try {
      return await this.client.core.readNode({ name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async listNodeNames(): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.core.listNode({ limit: PAGE_SIZE, _continue: token });
      names.push(...page.items.map((n) => n.metadata?.name ?? '').filter((n) => n !== ''));
      token = page.metadata?._continue || undefined;
    } while (token);
    return names;
  }

  async listPVs(labelSelector: string): Promise<V1PersistentVolume[]> {
    const informer = this.selected.get(labelSelector)?.informer;
    if (informer?.hasSynced) return informer.list();
    return (await this.client.volumes(labelSelector).list()).items;
  }

  async getPV(name: string): Promise<V1PersistentVolume | undefined> {
    try {
      return await this.client.core.readPersistentVolume({ name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
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

/**
 * The local node agent's API access (ports/local.ts's LocalClusterPorts) on the real API.
 *
 * Each agent watches only its own node's PVs (a label selector), so a cluster of N nodes
 * does not have N processes caching every PV. PV lists are served from that informer's
 * cache once it has synced; reads that decide a wipe (`getPV`) go to the API server.
 */
import { CoreV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import type { V1Node, V1PersistentVolume } from '@kubernetes/client-node';
import { KubeClient } from './client';
import { isConflict, isNotFound } from '../core/errors';
import { Informer, InformerOptions } from '../core/informer';
import type { Logger } from '../ops/log';
import type { EventPort } from '../ports/events';
import type { ListWatchPort, WatchEventType, WatchHandle } from '../ports/list-watch';
import type { DeletePreconditions, LocalApi, LocalClusterPorts, PvChange } from '../ports/local';

const PAGE_SIZE = 500;

interface Selected {
  readonly informer: Informer<V1PersistentVolume>;
  readonly listeners: Set<(change?: PvChange) => void>;
}

/** Connects the `local` command to the API server described by `kc`. */
export class LocalClusterClient implements LocalClusterPorts {
  constructor(private readonly kc: KubeConfig) {}

  localApi(log: Logger, informerOptions: InformerOptions): LocalApi {
    return new LocalKubeApi(this.kc, log, informerOptions);
  }

  eventPort(): EventPort {
    return new KubeClient(this.kc).eventPort();
  }
}

export class LocalKubeApi implements LocalApi {
  private readonly core: CoreV1Api;
  private readonly watcher: Watch;
  private readonly selected = new Map<string, Selected>();

  constructor(
    kc: KubeConfig,
    private readonly log: Logger,
    private readonly informerOptions: InformerOptions = {},
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.watcher = new Watch(kc);
  }

  /** Milliseconds the longest-failing PV informer has been failing (0 when all are fine). */
  get unhealthyForMs(): number {
    return Math.max(0, ...[...this.selected.values()].map((s) => s.informer.unhealthyForMs));
  }

  async getNode(name: string): Promise<V1Node | undefined> {
    try {
      return await this.core.readNode({ name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async listNodeNames(): Promise<string[]> {
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.core.listNode({ limit: PAGE_SIZE, _continue: token });
      names.push(...page.items.map((n) => n.metadata?.name ?? '').filter((n) => n !== ''));
      token = page.metadata?._continue || undefined;
    } while (token);
    return names;
  }

  async listPVs(labelSelector: string): Promise<V1PersistentVolume[]> {
    const informer = this.selected.get(labelSelector)?.informer;
    if (informer?.hasSynced) return informer.list();
    return (await this.listPage(labelSelector)).items;
  }

  async getPV(name: string): Promise<V1PersistentVolume | undefined> {
    try {
      return await this.core.readPersistentVolume({ name });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async createPV(pv: V1PersistentVolume): Promise<'created' | 'exists'> {
    try {
      await this.core.createPersistentVolume({ body: pv });
      return 'created';
    } catch (error) {
      if (isConflict(error)) return 'exists';
      throw error;
    }
  }

  async deletePV(name: string, preconditions: DeletePreconditions): Promise<'deleted' | 'gone' | 'conflict'> {
    try {
      await this.core.deletePersistentVolume({ name, body: { preconditions: { ...preconditions } } });
      return 'deleted';
    } catch (error) {
      if (isNotFound(error)) return 'gone';
      if (isConflict(error)) return 'conflict';
      throw error;
    }
  }

  watchPVs(labelSelector: string, onChange: (change?: PvChange) => void): () => void {
    let entry = this.selected.get(labelSelector);
    if (!entry) {
      const listeners = new Set<(change?: PvChange) => void>();
      const notify = (change: PvChange) => listeners.forEach((l) => l(change));
      const informer = new Informer<V1PersistentVolume>(`persistentvolumes(${labelSelector})`, this.listWatch(labelSelector),
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

  private async listPage(labelSelector: string): Promise<{ items: V1PersistentVolume[]; resourceVersion: string }> {
    const items: V1PersistentVolume[] = [];
    let token: string | undefined;
    let resourceVersion = '';
    do {
      const page = await this.core.listPersistentVolume({ labelSelector, limit: PAGE_SIZE, _continue: token });
      items.push(...page.items);
      resourceVersion = page.metadata?.resourceVersion ?? '';
      token = page.metadata?._continue || undefined;
    } while (token);
    return { items, resourceVersion };
  }

  private listWatch(labelSelector: string): ListWatchPort<V1PersistentVolume> {
    return {
      list: () => this.listPage(labelSelector),
      watch: async (resourceVersion, timeoutSeconds, onEvent, onDone): Promise<WatchHandle> => {
        const controller = await this.watcher.watch(
          '/api/v1/persistentvolumes',
          { labelSelector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
          (type: string, obj: V1PersistentVolume) => onEvent(type as WatchEventType, obj),
          (error: unknown) => onDone(error ?? null),
        );
        return { abort: () => controller.abort() };
      },
    };
  }
}

/**
 * The only module that loads `@kubernetes/client-node` (ESM-only: jest cannot import it,
 * so everything else takes the narrow ports this file implements).
 *
 * - Config: `--kubeconfig`, else the in-cluster service account, else `$KUBECONFIG`.
 * - Writes: patches always say which patch type they are (client-node would otherwise send
 *   JSON-Patch content type); 409 on create means "already exists" and is not an error.
 * - No client-side rate limit: the API server's priority and fairness does that, and a
 *   client-side bucket at client-go's default 5 QPS would make a burst of claims crawl.
 */
import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  StorageV1Api,
  V1MicroTime,
  Watch,
} from '@kubernetes/client-node';
import type {
  CoreV1Event,
  KubernetesListObject,
  KubernetesObject,
  V1Lease,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from '@kubernetes/client-node';
import { withResourceVersion } from './patch';
import { createPv, deletePv } from './pv-writes';
import { isNotFound } from '../core/errors';
import { ConfigError } from '../core/flags';
import { formatMicroTime, parseTime } from '../core/leader';
import type { EventPort } from '../ports/events';
import type { LeasePort, LeaseRecord } from '../ports/leases';
import type { ListWatchPort, WatchEventType, WatchHandle } from '../ports/list-watch';
import type { ClaimPatcher, ServerClusterPorts, VolumeWriter } from '../ports/nfs-api';

/** Loads the client configuration. */
export function loadKubeConfig(kubeconfig: string | undefined, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (kubeconfig) {
      kc.loadFromFile(kubeconfig);
    } else if (env.KUBERNETES_SERVICE_HOST) {
      kc.loadFromCluster();
    } else if (env.KUBECONFIG) {
      kc.loadFromDefault();
    } else {
      throw new Error('not running in a cluster: pass --kubeconfig=<file> or set KUBECONFIG');
    }
  } catch (error) {
    throw new ConfigError(`cannot load the Kubernetes client configuration: ${(error as Error).message}`);
  }
  if (!kc.getCurrentCluster()) {
    throw new ConfigError(`the kubeconfig ${kubeconfig ?? env.KUBECONFIG ?? ''} has no current cluster: set current-context`);
  }
  return kc;
}

/** Items per list page. */
export const PAGE_SIZE = 500;
/** Field manager of our patches (what `kubectl get -o yaml --show-managed-fields` names). */
const FIELD_MANAGER = 'cdk8s-storage-controller';

type Page<T extends KubernetesObject> = KubernetesListObject<T> & { metadata?: { resourceVersion?: string; _continue?: string } };

export class KubeClient implements ServerClusterPorts {
  readonly core: CoreV1Api;
  readonly storage: StorageV1Api;
  readonly coordination: CoordinationV1Api;
  private readonly watcher: Watch;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.storage = kc.makeApiClient(StorageV1Api);
    this.coordination = kc.makeApiClient(CoordinationV1Api);
    this.watcher = new Watch(kc);
  }

  claims(): ListWatchPort<V1PersistentVolumeClaim> {
    return this.listWatch('/api/v1/persistentvolumeclaims', (_continue) =>
      this.core.listPersistentVolumeClaimForAllNamespaces({ limit: PAGE_SIZE, _continue }));
  }

  /** PVs; with a label selector, only those matching it (`key=value` or `key`). */
  volumes(labelSelector?: string): ListWatchPort<V1PersistentVolume> {
    return this.listWatch('/api/v1/persistentvolumes', (_continue) =>
      this.core.listPersistentVolume({ labelSelector, limit: PAGE_SIZE, _continue }), labelSelector);
  }

  storageClasses(): ListWatchPort<V1StorageClass> {
    return this.listWatch('/apis/storage.k8s.io/v1/storageclasses', (_continue) => this.storage.listStorageClass({ limit: PAGE_SIZE, _continue }));
  }

  volumeWriter(): VolumeWriter {
    return {
      createVolume: (pv) => createPv(this.core, pv),
      deleteVolume: async (name, uid) => {
        // The uid precondition: never delete a newer PV that reuses the name (a conflict means it is).
        const result = await deletePv(this.core, name, { uid: uid || undefined });
        return result === 'deleted' ? 'deleted' : 'gone';
      },
    };
  }

  claimPatcher(): ClaimPatcher {
    // The bodies are plain JSON; the casts only satisfy the generated signatures.
    return {
      patchClaimStatus: (namespace, name, patch, resourceVersion) => this.core.patchNamespacedPersistentVolumeClaimStatus(
        { namespace, name, body: withResourceVersion(patch, resourceVersion) as V1PersistentVolumeClaim, fieldManager: FIELD_MANAGER },
        mergePatch()),
      patchClaim: (namespace, name, patch, resourceVersion) => this.core.patchNamespacedPersistentVolumeClaim(
        { namespace, name, body: withResourceVersion(patch, resourceVersion) as V1PersistentVolumeClaim, fieldManager: FIELD_MANAGER },
        mergePatch()),
      patchVolume: (name, patch) => this.core.patchPersistentVolume(
        { name, body: patch as V1PersistentVolume, fieldManager: FIELD_MANAGER },
        mergePatch()),
    };
  }

  eventPort(): EventPort {
    return {
      create: async (namespace, event) => {
        await this.core.createNamespacedEvent({ namespace, body: event });
      },
      patch: async (namespace, name, patch) => {
        await this.core.patchNamespacedEvent({ namespace, name, body: patch as CoreV1Event }, mergePatch());
      },
    };
  }

  leasePort(namespace: string, name: string): LeasePort {
    return {
      get: async () => {
        try {
          return fromLease(await this.coordination.readNamespacedLease({ namespace, name }));
        } catch (error) {
          if (isNotFound(error)) return undefined;
          throw error;
        }
      },
      create: async (record) => {
        const body = toLease(namespace, name, record);
        return fromLease(await this.coordination.createNamespacedLease({ namespace, body }));
      },
      update: async (record) => {
        const body = toLease(namespace, name, record);
        return fromLease(await this.coordination.replaceNamespacedLease({ namespace, name, body }));
      },
    };
  }

  async serviceClusterIP(namespace: string, name: string): Promise<string | undefined> {
    try {
      const ip = (await this.core.readNamespacedService({ namespace, name })).spec?.clusterIP;
      return ip && ip !== 'None' ? ip : undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  private listWatch<T extends KubernetesObject>(
    path: string,
    page: (continueToken: string | undefined) => Promise<Page<T>>,
    labelSelector?: string,
  ): ListWatchPort<T> {
    return {
      list: async () => {
        const items: T[] = [];
        let token: string | undefined;
        let resourceVersion = '';
        do {
          const result = await page(token);
          items.push(...result.items);
          resourceVersion = result.metadata?.resourceVersion ?? '';
          token = result.metadata?._continue || undefined;
        } while (token);
        return { items, resourceVersion };
      },
      watch: async (resourceVersion, timeoutSeconds, onEvent, onDone): Promise<WatchHandle> => {
        const controller = await this.watcher.watch(
          path,
          { labelSelector, resourceVersion, allowWatchBookmarks: true, timeoutSeconds },
          (type: string, obj: T) => onEvent(type as WatchEventType, obj),
          (error: unknown) => onDone(error ?? null),
        );
        return { abort: () => controller.abort() };
      },
    };
  }
}

/** Options that make a patch call a JSON merge patch. */
export function mergePatch() {
  return setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
}

function toLease(namespace: string, name: string, record: LeaseRecord): V1Lease {
  // Lease times must carry six fractional digits; the client passes strings through unchanged.
  const micro = (date: Date | undefined) => (date ? (formatMicroTime(date) as unknown as V1MicroTime) : undefined);
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, resourceVersion: record.resourceVersion },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      acquireTime: micro(record.acquireTime),
      renewTime: micro(record.renewTime),
      leaseTransitions: record.leaseTransitions,
    },
  };
}

function fromLease(lease: V1Lease): LeaseRecord {
  const spec = lease.spec ?? {};
  return {
    holderIdentity: spec.holderIdentity || undefined,
    leaseDurationSeconds: spec.leaseDurationSeconds,
    acquireTime: parseTime(spec.acquireTime),
    renewTime: parseTime(spec.renewTime),
    leaseTransitions: spec.leaseTransitions,
    resourceVersion: lease.metadata?.resourceVersion,
  };
}

/**
 * The only module that loads `@kubernetes/client-node`, and of it only KubeConfig (ESM-only:
 * jest cannot import it, so everything else takes the narrow ports this file implements).
 *
 * - Config: `--kubeconfig`, else the in-cluster service account, else `$KUBECONFIG`.
 * - Reads: list and watch are plain GETs parsed to plain JSON (http-list-watch.ts), and the
 *   objects lose the fields no decision reads (projection.ts).
 * - Connections: one keep-alive pool for all requests and watches (shared-agent.ts).
 * - Single reads (object-reads.ts) and the Lease (lease-requests.ts): plain JSON too.
 * - Writes: plain JSON on the same pool (json-request.ts, object-writes.ts, pv-writes.ts),
 *   not through client-node's model serializer; patches always say they are merge patches;
 *   409 on create means "already exists" and is not an error.
 * - No client-side rate limit: the API server's priority and fairness does that, and a
 *   client-side bucket at client-go's default 5 QPS would make a burst of claims crawl.
 */
import type {
  KubernetesObject,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1StorageClass,
} from '@kubernetes/client-node';
// The config module alone, not the package's index: the index also loads every generated API
// class and its request types (1.2 of the 2.7 MB bundle, all evaluated at start), which nothing
// here uses. The config module still pulls in the generated models (see docs/controller.md).
import { KubeConfig } from '@kubernetes/client-node/dist/config.js';
import { type ApiTarget, apiTarget } from './api-target';
import { httpListWatch } from './http-list-watch';
import { JsonRequester } from './json-request';
import { leaseRequests } from './lease-requests';
import { serviceClusterIP } from './object-reads';
import { createEvent, patchClaim, patchClaimStatus, patchEvent, patchVolume } from './object-writes';
import { project } from './projection';
import { createPv, deletePv } from './pv-writes';
import { shareOneAgent } from './shared-agent';
import { ConfigError } from '../core/flags';
import type { EventPort } from '../ports/events';
import type { LeasePort } from '../ports/leases';
import type { ListWatchPort } from '../ports/list-watch';
import type { ClaimPatcher, ServerClusterPorts, VolumeWriter } from '../ports/nfs-api';

/** Loads the client configuration; every request and watch made with it shares one connection pool. */
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
  return shareOneAgent(kc);
}

/** Items per list page. */
export const PAGE_SIZE = 500;

export class KubeClient implements ServerClusterPorts {
  /** Plain-JSON writes on the shared pool. */
  readonly requests: JsonRequester;
  private readonly target: ApiTarget;

  constructor(kc: KubeConfig) {
    this.target = apiTarget(kc);
    this.requests = new JsonRequester(this.target);
  }

  claims(): ListWatchPort<V1PersistentVolumeClaim> {
    return this.listWatch('/api/v1/persistentvolumeclaims');
  }

  /** PVs; with a label selector, only those matching it (`key=value` or `key`). */
  volumes(labelSelector?: string): ListWatchPort<V1PersistentVolume> {
    return this.listWatch('/api/v1/persistentvolumes', labelSelector);
  }

  storageClasses(): ListWatchPort<V1StorageClass> {
    return this.listWatch('/apis/storage.k8s.io/v1/storageclasses');
  }

  volumeWriter(): VolumeWriter {
    return {
      createVolume: (pv) => createPv(this.requests, pv),
      deleteVolume: async (name, uid) => {
        // The uid precondition: never delete a newer PV that reuses the name (a conflict means it is).
        const result = await deletePv(this.requests, name, { uid: uid || undefined });
        return result === 'deleted' ? 'deleted' : 'gone';
      },
    };
  }

  claimPatcher(): ClaimPatcher {
    return {
      patchClaimStatus: (namespace, name, patch, resourceVersion) => patchClaimStatus(this.requests, namespace, name, patch, resourceVersion),
      patchClaim: (namespace, name, patch, resourceVersion) => patchClaim(this.requests, namespace, name, patch, resourceVersion),
      patchVolume: (name, patch) => patchVolume(this.requests, name, patch),
    };
  }

  eventPort(): EventPort {
    return {
      create: (namespace, event) => createEvent(this.requests, namespace, event),
      patch: (namespace, name, patch) => patchEvent(this.requests, namespace, name, patch),
    };
  }

  leasePort(namespace: string, name: string): LeasePort {
    return leaseRequests(this.requests, namespace, name);
  }

  serviceClusterIP(namespace: string, name: string): Promise<string | undefined> {
    return serviceClusterIP(this.requests, namespace, name);
  }

  private listWatch<T extends KubernetesObject>(path: string, labelSelector?: string): ListWatchPort<T> {
    return httpListWatch<T>(this.target, path, { labelSelector, pageSize: PAGE_SIZE, project });
  }
}

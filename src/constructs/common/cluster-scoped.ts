import { ApiObject, Chart, JsonPatch } from 'cdk8s';

/**
 * A Chart's namespace is written into every object it holds, including cluster-scoped
 * kinds (StorageClass, ClusterRole, ...) that must not have one. Call this on each
 * cluster-scoped object a construct creates.
 */
export function clusterScoped<T extends ApiObject>(obj: T): T {
  if (Chart.of(obj).namespace) {
    obj.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  }
  return obj;
}

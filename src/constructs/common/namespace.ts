import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { apiObjectsInApp } from './app-checks';
import { clusterScoped } from './cluster-scoped';
import { morePermissiveLabel } from './pod-security';

/**
 * The Namespace object `name` for a construct with `createNamespace: true`: created once per
 * app. When another construct (an NFS and a local provisioner in one namespace, say) or the
 * user already created it, that one is returned and labels it lacks are added to it, so
 * applying the app never meets two Namespace objects of one name. A Pod Security label the
 * namespace has already is raised to the more permissive level of the two, so every
 * construct's pods may run there.
 */
export function namespaceOnce(scope: Construct, name: string, labels: Record<string, string>): ApiObject {
  const existing = apiObjectsInApp(scope, 'Namespace').find((ns) => ns.name === name);
  if (existing) {
    for (const [key, value] of Object.entries(labels)) {
      const had = existing.metadata.getLabel(key);
      if (had === undefined) existing.metadata.addLabel(key, value);
      else existing.metadata.addLabel(key, morePermissiveLabel(key, had, value));
    }
    return existing;
  }
  return clusterScoped(new k8s.KubeNamespace(scope, 'Namespace', { metadata: { name, labels } }));
}

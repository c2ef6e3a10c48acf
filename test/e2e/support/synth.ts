/**
 * Synthesizes a cdk8s chart in-process from the real constructs, so an e2e test
 * deploys exactly what a user's `cdk8s synth` would write.
 */
import { Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import type { KubeObject } from './kube';

/** Kinds that run pods. No kubelet runs here, so these are validated but not created (see apply.ts). */
export const WORKLOAD_KINDS: readonly string[] = ['Deployment', 'DaemonSet', 'StatefulSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod'];

/** Objects that must exist before the ones that refer to them. */
const APPLY_ORDER = ['Namespace', 'ServiceAccount', 'ClusterRole', 'Role', 'ClusterRoleBinding', 'RoleBinding', 'ConfigMap', 'StorageClass'];

/** The objects of one synthesized chart. */
export class Manifests {
  constructor(readonly objects: readonly KubeObject[]) {}

  /** Objects of a kind (e.g. 'StorageClass'). */
  public ofKind(kind: string): KubeObject[] {
    return this.objects.filter((o) => o.kind === kind);
  }

  /** The one object of a kind (with this name, if given); throws when there is not exactly one. */
  public one(kind: string, name?: string): KubeObject {
    const found = this.ofKind(kind).filter((o) => name === undefined || o.metadata?.name === name);
    if (found.length !== 1) {
      const names = this.ofKind(kind).map((o) => o.metadata?.name).join(', ') || 'none';
      throw new Error(`expected one ${kind}${name ? ` named ${name}` : ''} in the chart, found ${found.length} (${kind} objects: ${names})`);
    }
    return found[0];
  }

  /** Objects that run pods (Deployment, DaemonSet, ...). */
  public workloads(): KubeObject[] {
    return this.objects.filter((o) => WORKLOAD_KINDS.includes(o.kind ?? ''));
  }

  /** Everything else, in an order the API server accepts in one pass (Namespace first). */
  public configuration(): KubeObject[] {
    const rank = (o: KubeObject) => {
      const i = APPLY_ORDER.indexOf(o.kind ?? '');
      return i < 0 ? APPLY_ORDER.length : i;
    };
    return this.objects.filter((o) => !WORKLOAD_KINDS.includes(o.kind ?? '')).sort((a, b) => rank(a) - rank(b));
  }

  /** Namespaces the namespaced objects live in. */
  public namespaces(): string[] {
    return [...new Set(this.objects.map((o) => o.metadata?.namespace).filter((n): n is string => typeof n === 'string'))];
  }
}

/**
 * Builds a chart with `build` and returns what it synthesizes. `namespace` is the
 * chart's namespace (constructs default to it).
 */
export function synth(build: (scope: Construct) => void, options: { namespace?: string } = {}): Manifests {
  const app = Testing.app();
  const chart = new Chart(app, 'e2e', { namespace: options.namespace });
  build(chart);
  return new Manifests(Testing.synth(chart));
}

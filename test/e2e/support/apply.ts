/**
 * Puts synthesized manifests on the test cluster.
 *
 * Everything that configures the cluster (Namespace, ServiceAccount, RBAC,
 * ConfigMaps, StorageClasses, PodDisruptionBudgets, ...) is applied. Workloads
 * (Deployment, DaemonSet, ...) are sent with a server-side dry run: the API
 * server validates and defaults them as it would in a real cluster, so a
 * malformed pod template still fails the test, but they are not created. No
 * kubelet runs here, and their pods would be scheduled onto the stand-in Node
 * objects other tests create. The controller itself runs as a local process
 * with the workload's args and env (controller.ts).
 */
import { ControlPlane, toYaml } from '../harness';
import type { Manifests } from './synth';

export interface ApplyOptions {
  /**
   * What to do with workloads: 'dry-run' (validate only, the default), 'apply'
   * (create them too, e.g. to test a controller-manager reaction), or 'skip'.
   */
  readonly workloads?: 'dry-run' | 'apply' | 'skip';
}

/** Applies the manifests; throws with kubectl's message when the API server refuses any object. */
export async function applyManifests(cp: ControlPlane, manifests: Manifests, options: ApplyOptions = {}): Promise<void> {
  const mode = options.workloads ?? 'dry-run';
  const config = manifests.configuration();
  if (config.length > 0) {
    await cp.applyYaml(config);
  }
  const workloads = manifests.workloads();
  if (workloads.length === 0 || mode === 'skip') {
    return;
  }
  if (mode === 'apply') {
    await cp.applyYaml(workloads);
  } else {
    await cp.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: toYaml(workloads) });
  }
}

/**
 * Deletes what `applyManifests` created (cluster-scoped objects included, which
 * deleting a namespace would leave behind). Does not wait.
 */
export async function deleteManifests(cp: ControlPlane, manifests: Manifests): Promise<void> {
  const objects = [...manifests.configuration(), ...manifests.workloads()].reverse();
  await cp.deleteYaml(objects, { allowFailure: true });
}

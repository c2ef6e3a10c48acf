import { Chart, Testing } from 'cdk8s';
import { validateManifests } from '../../util/schema';

/** Synthesizes a chart and checks every object against the Kubernetes 1.28 schema. */
export function synthValid(chart: Chart): any[] {
  const objs = Testing.synth(chart);
  validateManifests(objs);
  return objs;
}

/** The only object of a kind (fails when there is not exactly one). */
export function one(objs: any[], kind: string): any {
  const found = objs.filter((o) => o.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
}

/** Every object of a kind. */
export function all(objs: any[], kind: string): any[] {
  return objs.filter((o) => o.kind === kind);
}

/** Kinds that carry no namespace. */
export const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'StorageClass', 'PersistentVolume']);

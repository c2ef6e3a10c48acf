/**
 * The one way construct tests synthesize: every object a chart writes is checked against the
 * strict Kubernetes schema (test/util/schema.ts) before a test looks at it, so a test can
 * only pass on manifests the API server would accept.
 */
import { Chart, Testing } from 'cdk8s';
import { validateManifests } from './schema';

/** Synthesizes a chart and checks every object against the Kubernetes 1.28 schema. */
export function synthValid(chart: Chart): any[] {
  const objs = Testing.synth(chart);
  validateManifests(objs);
  return objs;
}

/** Every object of a kind. */
export function all(objs: any[], kind: string): any[] {
  return objs.filter((o) => o.kind === kind);
}

/** The only object of a kind (fails when there is not exactly one). */
export function one(objs: any[], kind: string): any {
  const found = all(objs, kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0];
}

/** The object of a kind with a name (fails when there is none). */
export function named(objs: any[], kind: string, name: string): any {
  const found = all(objs, kind).find((o) => o.metadata?.name === name);
  if (!found) throw new Error(`no ${kind} named ${name}`);
  return found;
}

/** Kinds that carry no namespace. */
export const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'StorageClass', 'PersistentVolume']);

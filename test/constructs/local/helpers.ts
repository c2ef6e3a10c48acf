import { App, Chart, Testing } from 'cdk8s';
import { LocalStaticProvisioner, LocalStaticProvisionerProps } from '../../../src/constructs/local';
import { validateManifests } from '../../util/schema';

/** A fresh app and chart (optionally namespaced) holding one provisioner. */
export function setup(props: LocalStaticProvisionerProps = {}, chartNamespace?: string): {
  app: App; chart: Chart; provisioner: LocalStaticProvisioner;
} {
  const app = Testing.app();
  const chart = new Chart(app, 'test', chartNamespace ? { namespace: chartNamespace } : {});
  const provisioner = new LocalStaticProvisioner(chart, 'local', props);
  return { app, chart, provisioner };
}

/** Synthesizes the chart, checks every object against the Kubernetes schema, returns them. */
export function synth(chart: Chart): any[] {
  const objs = Testing.synth(chart);
  validateManifests(objs);
  return objs;
}

export function only(objs: any[], kind: string): any {
  const matches = objs.filter((o) => o.kind === kind);
  if (matches.length !== 1) throw new Error(`expected one ${kind}, found ${matches.length}`);
  return matches[0];
}

export function all(objs: any[], kind: string): any[] {
  return objs.filter((o) => o.kind === kind);
}

/** The parsed class map from the agent's ConfigMap. */
export function classMap(objs: any[]): any {
  return JSON.parse(only(objs, 'ConfigMap').data['classes.json']);
}

export function agentContainer(objs: any[]): any {
  return only(objs, 'DaemonSet').spec.template.spec.containers[0];
}

export function podSpec(objs: any[]): any {
  return only(objs, 'DaemonSet').spec.template.spec;
}

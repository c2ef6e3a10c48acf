import { App, Chart, Testing } from 'cdk8s';
import { LocalStaticProvisioner, LocalStaticProvisionerProps } from '../../../src/constructs/local';
import { one } from '../../util/synth';

/** A fresh app and chart (optionally namespaced) holding one provisioner. */
export function setup(props: LocalStaticProvisionerProps = {}, chartNamespace?: string): {
  app: App; chart: Chart; provisioner: LocalStaticProvisioner;
} {
  const app = Testing.app();
  const chart = new Chart(app, 'test', chartNamespace ? { namespace: chartNamespace } : {});
  const provisioner = new LocalStaticProvisioner(chart, 'local', props);
  return { app, chart, provisioner };
}

/** The parsed class map from the agent's ConfigMap. */
export function classMap(objs: any[]): any {
  return JSON.parse(one(objs, 'ConfigMap').data['classes.json']);
}

export function agentContainer(objs: any[]): any {
  return one(objs, 'DaemonSet').spec.template.spec.containers[0];
}

export function podSpec(objs: any[]): any {
  return one(objs, 'DaemonSet').spec.template.spec;
}

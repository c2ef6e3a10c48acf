import { ApiObject, App, Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { apiObjectsInApp, checkNowAndAtSynth } from '../../../src/constructs/common/app-checks';

/** A construct with one ConfigMap whose name must be unique in the app (a stand-in for a class or a claim). */
class Unique extends Construct {
  public readonly resource: ApiObject;
  constructor(scope: Construct, id: string, name: string) {
    super(scope, id);
    this.resource = configMap(this, 'Resource', name);
    checkNowAndAtSynth(this, (app) => app.apiObjects('ConfigMap')
      .filter((other) => other !== this.resource && other.name === name)
      .map((other) => `${this.node.path}: ${name} is already used at ${other.node.path}`));
  }
}

function configMap(scope: Construct, id: string, name: string): ApiObject {
  return new ApiObject(scope, id, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } });
}

describe('checkNowAndAtSynth', () => {
  test('throws at construction for an object already in the app, in another chart too', () => {
    const app = Testing.app();
    configMap(new Chart(app, 'one'), 'raw', 'x');
    expect(() => new Unique(new Chart(app, 'two'), 'u', 'x')).toThrow('two/u: x is already used at one/raw');
  });

  test('throws at construction for an object a checked construct built after its own check', () => {
    const chart = Testing.chart();
    const first = new Unique(chart, 'a', 'a');
    configMap(first, 'extra', 'x'); // built by (under) a checked construct after its check ran
    expect(() => new Unique(chart, 'b', 'x')).toThrow('test/b: x is already used at test/a/extra');
  });

  test('an object added after the construct fails the synth, with the construct\'s path', () => {
    const chart = Testing.chart();
    new Unique(chart, 'u', 'x');
    configMap(chart, 'raw', 'x');
    expect(() => Testing.synth(chart)).toThrow('[test/u] test/u: x is already used at test/raw');
  });

  test('a plain object added beside the construct after the app\'s first check is caught at construction', () => {
    const chart = Testing.chart();
    new Unique(chart, 'a', 'a');
    configMap(chart, 'raw', 'x');
    expect(() => new Unique(chart, 'b', 'x')).toThrow('test/b: x is already used at test/raw');
  });

  test('a plain object added in another chart after the app\'s first check is caught at synth (not at construction)', () => {
    const app = new App({ outdir: Testing.app().outdir });
    const first = new Chart(app, 'first');
    const second = new Chart(app, 'second');
    new Unique(first, 'a', 'a');
    configMap(second, 'raw', 'x');
    const late = new Unique(first, 'b', 'x');
    expect(() => app.synthYaml()).toThrow(`[${late.node.path}] first/b: x is already used at second/raw`);
  });

  test('each synth sees the app as it is then: a second synth after a fix passes', () => {
    const app = new App({ outdir: Testing.app().outdir });
    const chart = new Chart(app, 'c');
    new Unique(chart, 'u', 'x');
    const raw = configMap(chart, 'raw', 'x');
    expect(() => app.synthYaml()).toThrow(/c\/u: x is already used at c\/raw/);
    chart.node.tryRemoveChild(raw.node.id);
    expect(app.synthYaml()).toContain('name: x');
  });

  test('apps are checked apart', () => {
    new Unique(Testing.chart(), 'u', 'x');
    const other = Testing.chart();
    expect(() => new Unique(other, 'u', 'x')).not.toThrow();
    expect(() => Testing.synth(other)).not.toThrow();
  });
});

describe('apiObjectsInApp', () => {
  test('every ApiObject of a kind in the app, whatever was made when', () => {
    const chart = Testing.chart();
    const a = configMap(chart, 'a', 'a');
    const b = configMap(new Chart(chart.node.root as App, 'other'), 'b', 'b');
    expect(apiObjectsInApp(a, 'ConfigMap')).toEqual([a, b]);
  });
});

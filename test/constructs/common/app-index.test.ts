import { ApiObject, Chart, Testing } from 'cdk8s';
import { Construct } from 'constructs';
import { AppIndex } from '../../../src/constructs/common/app-index';

class Marker extends Construct {}
class SubMarker extends Marker {}

function storageClass(scope: Construct, id: string): ApiObject {
  return new ApiObject(scope, id, { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: id } });
}

describe('AppIndex', () => {
  test('indexes the whole tree it is given: ApiObjects by kind, constructs by type (subclasses too)', () => {
    const chart = Testing.chart();
    const a = storageClass(chart, 'a');
    const inner = new Chart(chart, 'inner');
    const b = storageClass(inner, 'b');
    const claim = new ApiObject(inner, 'c', { apiVersion: 'v1', kind: 'PersistentVolumeClaim' });
    const m1 = new Marker(chart, 'm1');
    const m2 = new SubMarker(m1, 'm2');

    const index = new AppIndex(chart.node.root);
    expect(index.apiObjects('StorageClass')).toEqual([a, b]);
    expect(index.apiObjects('PersistentVolumeClaim')).toEqual([claim]);
    expect(index.apiObjects('Secret')).toEqual([]);
    expect(index.instancesOf(Marker)).toEqual([m1, m2]);
    expect(index.instancesOf(SubMarker)).toEqual([m2]);
  });

  test('sees what is added after it only once add() is given a scope holding it, and indexes each construct once', () => {
    const chart = Testing.chart();
    const a = storageClass(chart, 'a');
    const index = new AppIndex(chart.node.root);
    expect(index.instancesOf(Marker)).toEqual([]);

    const m = new Marker(chart, 'm');
    const b = storageClass(m, 'b');
    const later = new Marker(chart, 'later');
    expect(index.apiObjects('StorageClass')).toEqual([a]);

    index.add(m);
    index.add(chart.node.root); // everything again: nothing is listed twice
    expect(index.apiObjects('StorageClass')).toEqual([a, b]);
    expect(index.instancesOf(Marker)).toEqual([m, later]);
  });
});

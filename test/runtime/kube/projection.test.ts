/**
 * The informer caches' projection drops managedFields and nothing else, and no runtime
 * code outside the projection reads managedFields (so every decision still sees every
 * field it reads).
 */
import { readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { project } from '../../../src/runtime/kube/projection';

const RUNTIME = path.join(__dirname, '../../../src/runtime');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

const volume = () => ({
  apiVersion: 'v1',
  kind: 'PersistentVolume',
  metadata: {
    name: 'pvc-1',
    uid: 'u1',
    resourceVersion: '9',
    labels: { a: 'b' },
    annotations: { 'pv.kubernetes.io/provisioned-by': 'example.com/nfs' },
    finalizers: ['kubernetes.io/pv-protection'],
    managedFields: [{ manager: 'kube-controller-manager', operation: 'Update', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:phase': {} } } }],
  },
  spec: { capacity: { storage: '1Gi' }, nfs: { server: '10.0.0.5', path: '/exports/a' }, claimRef: { namespace: 'ns', name: 'c', uid: 'cu' } },
  status: { phase: 'Bound' },
});

test('drops metadata.managedFields and keeps every other field', () => {
  const { metadata: { managedFields: _dropped, ...metadata }, ...rest } = volume();
  expect(project(volume())).toEqual({ ...rest, metadata });
});

test('leaves objects without managedFields (or without metadata) as they are', () => {
  const { metadata: { managedFields: _dropped, ...metadata }, ...rest } = volume();
  expect(project({ ...rest, metadata })).toEqual({ ...rest, metadata });
  expect(project({})).toEqual({});
});

test('no runtime code reads managedFields, so the projection hides nothing a decision uses', () => {
  const readers = sources(RUNTIME)
    .filter((file) => !file.endsWith(path.join('kube', 'projection.ts')))
    .filter((file) => readFileSync(file, 'utf8').includes('managedFields'))
    .map((file) => path.relative(RUNTIME, file));
  expect(readers).toEqual([]);
});

/**
 * Scenario 1: a claim of an NFS class becomes Bound to a PV that points at its
 * own directory on the export, and that PV really leads there: a file written
 * through NFS at the PV's server/path is found in the claim's directory.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Size } from 'cdk8s';
import { PersistentVolumeAccessMode, PersistentVolumeReclaimPolicy } from 'cdk8s-plus-28';
import { deployNfs, NfsDeployment, nfsTestEnv, NfsTestEnv, waitForEntries } from './fixture';
import { ResizableClaim } from '../../../src/constructs/claim';
import { PV_ANNOTATIONS, K8S } from '../../../src/contract/keys';
import { paths, useNfsDeployment, waitForClaimBound, waitForEvent } from '../support';

let env: NfsTestEnv;
let d: NfsDeployment;
const nfs = useNfsDeployment({
  deploy: async () => {
    env = nfsTestEnv();
    return (d = await deployNfs(env, {
      prefix: 'provision',
      replicas: 1,
      classes: {
        // Nested directories, an explicit mode, and the defaults for the rest.
        Default: { pathPattern: '${.PVC.namespace}/${.PVC.name}', directoryMode: '0770' },
        // Everything non-default that ends up on the PV.
        Custom: {
          pathPattern: 'custom-${.PVC.namespace}-${.PVC.name}-${.PV.name}',
          reclaimPolicy: PersistentVolumeReclaimPolicy.RETAIN,
          mountOptions: ['nfsvers=3', 'nolock', 'soft'],
          // No onDelete: with reclaimPolicy Retain it never applies (the construct refuses it).
        },
      },
      // A claim from the ResizableClaim construct, synthesized and applied with the provisioner.
      extra: (scope, { classes, claimsNamespace }) => {
        new ResizableClaim(scope, 'construct-claim', {
          name: 'from-construct',
          namespace: claimsNamespace,
          storageClass: classes.Default,
          storage: Size.gibibytes(2),
        });
      },
    }));
  },
  startController: true,
});

async function boundVolume(name: string) {
  const claim = await waitForClaimBound(env.kube, d.claimsNamespace, name);
  const pv = await env.kube.get(paths.pv(claim.spec.volumeName));
  expect(pv).toBeDefined();
  return { claim, pv: pv! };
}

test('a claim synthesized by ResizableClaim is Bound to its own directory, and NFS writes land there', async () => {
  const { claim, pv } = await boundVolume('from-construct');
  const dir = `${d.claimsNamespace}/from-construct`;

  expect(pv.metadata.name).toBe(`pvc-${claim.metadata.uid}`);
  expect(pv.spec.nfs).toEqual({ server: env.nfs.host, path: `${d.exportPath}/${dir}` });
  expect(pv.spec.capacity).toEqual({ storage: '2Gi' });
  expect(pv.spec.accessModes).toEqual([PersistentVolumeAccessMode.READ_WRITE_MANY]);
  expect(pv.spec.mountOptions).toEqual(['nfsvers=4.1', 'hard']);
  expect(pv.spec.persistentVolumeReclaimPolicy).toBe('Delete');
  expect(pv.spec.storageClassName).toBe(d.classes.Default);
  expect(pv.spec.volumeMode).toBe('Filesystem');
  expect(pv.spec.claimRef).toMatchObject({ namespace: d.claimsNamespace, name: 'from-construct', uid: claim.metadata.uid });
  expect(pv.metadata.annotations).toMatchObject({
    [K8S.provisionedBy]: d.provisionerName,
    [PV_ANNOTATIONS.directory]: dir,
    [PV_ANNOTATIONS.onDelete]: 'ARCHIVE',
  });
  expect(claim.status.capacity).toEqual({ storage: '2Gi' });

  // The directory exists with the class's mode, exactly (umask notwithstanding).
  const onDisk = path.join(d.root, dir);
  // eslint-disable-next-line no-bitwise
  expect(fs.statSync(onDisk).mode & 0o7777).toBe(0o770);

  // Through the NFS server, at the PV's path, and back on disk in the claim's directory.
  const content = `written through NFS to ${pv.metadata.name}\n`;
  await env.nfs.writeFile(`${pv.spec.nfs.path}/hello.txt`, content);
  expect(fs.readFileSync(path.join(onDisk, 'hello.txt'), 'utf8')).toBe(content);
  expect(await env.nfs.list(pv.spec.nfs.path)).toEqual(['hello.txt']);

  await waitForEvent(env.kube, d.claimsNamespace, 'from-construct', 'ProvisioningSucceeded');
});

test('the class\'s reclaim policy, mount options and the claim\'s size and access modes are written on the PV', async () => {
  await d.createClaim('custom', 'Custom', { storage: '1500Mi', accessModes: ['ReadWriteOnce', 'ReadOnlyMany'] });
  const { claim, pv } = await boundVolume('custom');
  const dir = `custom-${d.claimsNamespace}-custom-${pv.metadata.name}`;

  expect(pv.spec.nfs).toEqual({ server: env.nfs.host, path: `${d.exportPath}/${dir}` });
  expect(pv.spec.capacity).toEqual({ storage: '1500Mi' });
  expect(pv.spec.accessModes).toEqual(['ReadWriteOnce', 'ReadOnlyMany']);
  expect(pv.spec.mountOptions).toEqual(['nfsvers=3', 'nolock', 'soft']);
  expect(pv.spec.persistentVolumeReclaimPolicy).toBe('Retain');
  expect(pv.metadata.annotations[PV_ANNOTATIONS.onDelete]).toBe('ARCHIVE');
  expect(claim.spec.volumeName).toBe(pv.metadata.name);

  const onDisk = path.join(d.root, dir);
  // eslint-disable-next-line no-bitwise
  expect(fs.statSync(onDisk).mode & 0o7777).toBe(0o777);
  await env.nfs.writeFile(`${pv.spec.nfs.path}/data.bin`, Buffer.from('0123456789'.repeat(100)));
  expect(fs.readFileSync(path.join(onDisk, 'data.bin'), 'utf8')).toBe('0123456789'.repeat(100));

  // One directory per claim under the provisioner's root, nothing else.
  await waitForEntries(d.root, [d.claimsNamespace, dir]);
});

test('the controller ran as the synthesized Deployment: its args, a ServiceAccount token, only paths overridden', () => {
  const deployment = d.manifests.one('Deployment');
  const container = deployment.spec.template.spec.containers[0];
  const args = nfs.controller.args;
  // The manifest's args come first, unchanged; overrides are appended.
  expect(args.slice(0, container.args.length)).toEqual(container.args);
  const appended = args.slice(container.args.length);
  expect(appended.map((a) => a.split('=')[0])).toEqual(['--root', '--kubeconfig', '--http-port']);
  expect(appended[0]).toBe(`--root=${d.root}`);
  expect(appended[1]).toContain(`${d.namespace}.${deployment.spec.template.spec.serviceAccountName}.kubeconfig`);
  const started = nfs.controller.entries('started')[0];
  expect(started).toMatchObject({ provisioner: d.provisionerName, server: env.nfs.host, exportPath: d.exportPath, root: d.root });
});

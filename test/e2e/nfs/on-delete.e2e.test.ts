/**
 * Scenario 2: deleting a claim applies the class's onDelete to its directory
 * (DELETE removes it, RETAIN keeps it, ARCHIVE renames it without ever
 * overwriting an earlier archive), and the PV goes away in every case.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { deployNfs, NfsDeployment, nfsTestEnv, NfsTestEnv, subdirectories } from './fixture';
import { OnDelete } from '../../../src/constructs/nfs';
import { KubeObject, paths, useNfsDeployment, waitForClaimBound, waitForEvent, waitForGone } from '../support';

let env: NfsTestEnv;
let d: NfsDeployment;
useNfsDeployment({
  deploy: async () => {
    env = nfsTestEnv();
    return (d = await deployNfs(env, {
      prefix: 'ondelete',
      replicas: 1,
      classes: {
        // Each class nests its volumes under its own top directory, so emptied parents are visible.
        Delete: { pathPattern: 'delete/${.PVC.namespace}/${.PVC.name}', onDelete: OnDelete.DELETE },
        Retain: { pathPattern: 'retain/${.PVC.namespace}/${.PVC.name}', onDelete: OnDelete.RETAIN },
        Archive: { pathPattern: 'archive/${.PVC.namespace}/${.PVC.name}', onDelete: OnDelete.ARCHIVE },
      },
    }));
  },
  startController: true,
});

/**
 * Creates a claim, waits until it is Bound, writes a file into the volume
 * (through NFS unless `onDisk`); returns the PV.
 */
async function boundWithData(name: string, classId: string, content: string, options: { onDisk?: boolean } = {}): Promise<KubeObject> {
  await d.createClaim(name, classId);
  const claim = await waitForClaimBound(env.kube, d.claimsNamespace, name);
  const pv = (await env.kube.get(paths.pv(claim.spec.volumeName)))!;
  const file = path.join(d.diskPathOf(pv), 'data.txt');
  if (options.onDisk) {
    fs.writeFileSync(file, content);
  } else {
    await env.nfs.writeFile(`${pv.spec.nfs.path}/data.txt`, content);
  }
  expect(fs.readFileSync(file, 'utf8')).toBe(content);
  return pv;
}

async function deleteClaimAndWaitForVolume(name: string, pv: KubeObject): Promise<void> {
  await env.kube.delete(paths.pvc(d.claimsNamespace, name));
  await waitForGone(env.kube, paths.pv(pv.metadata.name));
}

test('DELETE removes the directory and its emptied parents, never following a link out of it, and the PV', async () => {
  const pv = await boundWithData('gone', 'Delete', 'delete me\n');
  const dir = d.diskPathOf(pv);
  // A link inside the volume to data elsewhere: deleting the volume removes the link only.
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-outside-'));
  fs.writeFileSync(path.join(outside, 'precious.txt'), 'keep\n');
  fs.symlinkSync(outside, path.join(dir, 'link-to-outside'));
  try {
    await deleteClaimAndWaitForVolume('gone', pv);
    expect(fs.existsSync(dir)).toBe(false);
    // The class's `delete/<namespace>` levels were only there for this volume.
    expect(fs.existsSync(path.join(d.root, 'delete'))).toBe(false);
    expect(fs.readFileSync(path.join(outside, 'precious.txt'), 'utf8')).toBe('keep\n');
  } finally {
    fs.rmSync(outside, { recursive: true, force: true });
  }
});

test('RETAIN keeps the directory and its data, and deletes the PV', async () => {
  const pv = await boundWithData('kept', 'Retain', 'keep me\n');
  const dir = d.diskPathOf(pv);
  await deleteClaimAndWaitForVolume('kept', pv);
  expect(fs.readFileSync(path.join(dir, 'data.txt'), 'utf8')).toBe('keep me\n');
  await waitForEvent(env.kube, 'default', pv.metadata.name, 'DirectoryRetained');
});

test('ARCHIVE renames the directory to a unique archive; two archives of the same name both survive', async () => {
  const archiveNames = () => subdirectories(d.root).filter((n) => n.startsWith('archived-'));
  const flat = `archive-${d.claimsNamespace}-data`;

  // First claim "data": archived as archived-<dir with / as ->-<pv name>.
  const first = await boundWithData('data', 'Archive', 'first\n');
  const firstDir = d.diskPathOf(first);
  await deleteClaimAndWaitForVolume('data', first);
  const firstArchive = `archived-${flat}-${first.metadata.name}`;
  expect(archiveNames()).toEqual([firstArchive]);
  expect(fs.existsSync(firstDir)).toBe(false);
  expect(fs.readFileSync(path.join(d.root, firstArchive, 'data.txt'), 'utf8')).toBe('first\n');

  // A second claim of the same name, whose archive name is already taken (by a
  // directory with data in it) when it is deleted: the archive gets another name,
  // and nothing already there is touched.
  // Written on disk: the controller here works on the export's directory behind
  // nfs-ganesha's back, and ganesha's cache still resolves this path to the
  // directory that was just archived (in a cluster the controller goes through an
  // NFS mount, so the server sees the rename).
  const second = await boundWithData('data', 'Archive', 'second\n', { onDisk: true });
  expect(d.diskPathOf(second)).toBe(firstDir);
  const taken = `archived-${flat}-${second.metadata.name}`;
  fs.mkdirSync(path.join(d.root, taken));
  fs.writeFileSync(path.join(d.root, taken, 'data.txt'), 'already here\n');
  await deleteClaimAndWaitForVolume('data', second);

  expect(archiveNames()).toEqual([firstArchive, taken, `${taken}-2`].sort());
  expect(fs.readFileSync(path.join(d.root, firstArchive, 'data.txt'), 'utf8')).toBe('first\n');
  expect(fs.readFileSync(path.join(d.root, taken, 'data.txt'), 'utf8')).toBe('already here\n');
  expect(fs.readFileSync(path.join(d.root, `${taken}-2`, 'data.txt'), 'utf8')).toBe('second\n');
  // The volume's place and its emptied parents are gone.
  expect(fs.existsSync(path.join(d.root, 'archive'))).toBe(false);
  const archived = await waitForEvent(env.kube, 'default', second.metadata.name, 'DirectoryArchived');
  expect(archived.message).toContain(`${taken}-2`);
});

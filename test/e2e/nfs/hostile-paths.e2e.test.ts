/**
 * Scenario 3: labels and annotations are written by whoever creates a claim, so
 * a pathPattern that uses them must not let a claim escape the provisioner's
 * root or take another claim's directory. Each hostile claim gets a
 * ProvisioningFailed event, stays Pending without a PV, and nothing is written
 * outside the root (the whole export and its surroundings are compared before
 * and after).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { deployNfs, NfsDeployment, nfsTestEnv, NfsTestEnv } from './fixture';
import { OnDelete } from '../../../src/constructs/nfs';
import { UNFINISHED_DIR } from '../../../src/runtime/nfs/journal';
import { diffTrees, KubeObject, paths, snapshotTree, useNfsDeployment, waitForClaimBound, waitForEvent } from '../support';

let env: NfsTestEnv;
let d: NfsDeployment;
let outside: string;

/** A marker in every hostile value, to search the disk for anything they made. */
const MARK = `pwned${process.pid}`;

useNfsDeployment({
  deploy: async () => {
    env = nfsTestEnv();
    d = await deployNfs(env, {
      prefix: 'hostile',
      replicas: 1,
      classes: {
        Tenant: { pathPattern: '${.PVC.namespace}/${.PVC.labels.team}/${.PVC.annotations.project}', onDelete: OnDelete.DELETE },
      },
    });
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-hostile-outside-'));
    return d;
  },
  startController: true,
  cleanUp: async () => {
    if (outside) fs.rmSync(outside, { recursive: true, force: true });
  },
});

/** Entries of the directories around the root (the NFS server's directory and the temp dir), without churn that is not ours. */
function surroundings(): string[] {
  const serverDir = path.dirname(env.nfs.root);
  const list = (dir: string) => fs.readdirSync(dir).filter((n) => n.includes(MARK) || n === 'etc' || n === 'escaped').map((n) => `${dir}/${n}`);
  return [...list(serverDir), ...list(path.dirname(serverDir)), ...list(outside)].sort();
}

test('hostile labels and annotations: ProvisioningFailed, Pending, nothing written outside the root', async () => {
  // A link planted under the root (by someone with access to the export) that leads outside it.
  fs.mkdirSync(path.join(d.root, d.claimsNamespace), { recursive: true });
  fs.symlinkSync(outside, path.join(d.root, d.claimsNamespace, 'linked'));

  const exportBefore = snapshotTree(env.nfs.root);
  const aroundBefore = surroundings();

  const hostile: Array<{ name: string; labels?: Record<string, string>; annotations?: Record<string, string>; because: RegExp }> = [
    { name: 'dotdot', labels: { team: 'a' }, annotations: { project: '..' }, because: /"\.\."/ },
    { name: 'traversal', labels: { team: 'a' }, annotations: { project: `../../../${MARK}` }, because: /contains "\/"/ },
    { name: 'absolute', labels: { team: 'a' }, annotations: { project: `/etc/${MARK}` }, because: /contains "\/"/ },
    { name: 'dot', labels: { team: 'a' }, annotations: { project: '.' }, because: /"\."/ },
    { name: 'empty-label', labels: { team: '' }, annotations: { project: MARK }, because: /is empty/ },
    { name: 'missing-label', annotations: { project: MARK }, because: /not set on the claim/ },
    { name: 'control-char', labels: { team: 'a' }, annotations: { project: `${MARK}\nescaped` }, because: /control character/ },
    { name: 'too-long', labels: { team: 'a' }, annotations: { project: `${MARK}${'x'.repeat(300)}` }, because: /255|too long|longer/ },
    // Renders to <ns>/linked/<project>: through the planted link, out of the root.
    { name: 'via-link', labels: { team: 'linked' }, annotations: { project: MARK }, because: /symbolic link/ },
  ];
  for (const h of hostile) {
    await d.createClaim(h.name, 'Tenant', { labels: h.labels, annotations: h.annotations });
  }
  // A well-behaved claim created after them is provisioned: the controller has been at work.
  await d.createClaim('good', 'Tenant', { labels: { team: 'blue' }, annotations: { project: 'web' } });
  const good = await waitForClaimBound(env.kube, d.claimsNamespace, 'good');

  for (const h of hostile) {
    const event = await waitForEvent(env.kube, d.claimsNamespace, h.name, 'ProvisioningFailed');
    expect({ claim: h.name, message: event.message }).toEqual({ claim: h.name, message: expect.stringMatching(h.because) });
  }
  const claims = await env.kube.list(paths.pvc(d.claimsNamespace));
  const byName = new Map(claims.map((c: KubeObject) => [c.metadata.name, c]));
  for (const h of hostile) {
    const c = byName.get(h.name)!;
    expect({ claim: h.name, phase: c.status?.phase, volume: c.spec.volumeName }).toEqual({ claim: h.name, phase: 'Pending', volume: undefined });
  }
  // The only PV is the good claim's.
  expect((await d.volumes()).map((pv) => pv.metadata.name)).toEqual([good.spec.volumeName]);

  // On disk: the good claim's directory (and its parent level) is all that appeared anywhere.
  // The controller's provisioning note exists only while a provisioning runs (the link
  // claim is retried with backoff): it is not a volume and not outside the root.
  await waitForEvent(env.kube, d.claimsNamespace, 'good', 'ProvisioningSucceeded');
  const rootRel = path.relative(env.nfs.root, d.root);
  const notes = `${rootRel}/${UNFINISHED_DIR}`;
  const after = new Map([...snapshotTree(env.nfs.root)].filter(([rel]) => rel !== notes && !rel.startsWith(`${notes}/`)));
  const diff = diffTrees(exportBefore, after);
  expect(diff).toEqual({
    added: [`${rootRel}/${d.claimsNamespace}/blue`, `${rootRel}/${d.claimsNamespace}/blue/web`],
    removed: [],
    changed: [],
  });
  expect(surroundings()).toEqual(aroundBefore);
  expect(fs.readdirSync(outside)).toEqual([]);
});

/**
 * The package as a user gets it: `npm pack`, installed from the tarball into a fresh app
 * whose cdk8s, cdk8s-plus-28 and constructs are pinned to the oldest versions our peer
 * ranges allow (the oldest the registry has), then synthesized.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as yaml from 'js-yaml';

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-storage-package-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' });
}

/** The oldest published version of `name` inside `range` (npm lists those the range allows). */
function oldest(name: string, range: string): string {
  const listed = JSON.parse(npm(['view', `${name}@${range}`, 'version', '--json'], work));
  const versions: string[] = Array.isArray(listed) ? listed : [listed];
  const parts = (v: string) => v.split(/[.+-]/).slice(0, 3).map(Number);
  const [first] = versions.sort((a, b) => parts(a).reduce((order, n, i) => order || n - parts(b)[i], 0));
  if (!first) throw new Error(`the registry has no ${name} in ${range}`);
  return first;
}

describe('the packed package in an app pinned to the oldest peer versions', () => {
  const app = path.join(work, 'app');
  let pins: Record<string, string>;
  let objects: any[];

  beforeAll(() => {
    if (!fs.existsSync(path.join(root, 'lib', 'index.js'))) {
      throw new Error('lib/index.js is missing: compile first (npx projen compile)');
    }
    const [packed] = JSON.parse(npm(['pack', '--json', '--pack-destination', work], root));
    console.log(`packed ${packed.filename}: ${packed.size} bytes (${packed.unpackedSize} unpacked, ${packed.entryCount} files)`);

    pins = Object.fromEntries(Object.entries(pkg.peerDependencies as Record<string, string>).map(([name, range]) => [name, oldest(name, range)]));
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({
      name: 'oldest-peers-app',
      private: true,
      dependencies: { ...pins, 'cdk8s-storage': `file:${path.join(work, packed.filename)}` },
    }, null, 2));
    npm(['install', '--ignore-scripts'], app);
    fs.copyFileSync(path.join(__dirname, 'oldest-peers-app.js'), path.join(app, 'main.js'));
    execFileSync(process.execPath, ['main.js'], { cwd: app, encoding: 'utf8' });
    objects = (yaml.loadAll(fs.readFileSync(path.join(app, 'dist', 'storage.k8s.yaml'), 'utf8')) as any[]).filter(Boolean);
  });

  test('the app got the oldest versions the peer ranges allow, and one copy of each', () => {
    for (const [name, version] of Object.entries(pins)) {
      expect(JSON.parse(fs.readFileSync(path.join(app, 'node_modules', name, 'package.json'), 'utf8')).version).toBe(version);
      const copies = npm(['ls', name, '--all', '--parseable'], app).trim().split('\n').filter(Boolean);
      expect(copies).toEqual([path.join(app, 'node_modules', name)]);
    }
  });

  test('synthesizes every construct, with the claim mounted the cdk8s-plus way', () => {
    const kinds = new Set(objects.map((o) => o.kind));
    for (const kind of ['Namespace', 'Deployment', 'DaemonSet', 'StorageClass', 'PersistentVolumeClaim', 'ClusterRole', 'ConfigMap']) {
      expect(kinds).toContain(kind);
    }
    expect(objects.filter((o) => o.kind === 'Namespace').map((o) => o.metadata.name)).toEqual(['apps']);
    const claims = objects.filter((o) => o.kind === 'PersistentVolumeClaim');
    expect(claims.map((c) => `${c.metadata.namespace}/${c.metadata.name}:${c.spec.storageClassName}`).sort())
      .toEqual(['apps/cache:ssd', 'apps/data:shared', 'apps/logs:gp3']);
    const web = objects.find((o) => o.kind === 'Deployment' && o.spec.template.spec.volumes?.some((v: any) => v.persistentVolumeClaim));
    expect(web.spec.template.spec.volumes).toEqual([{ name: 'pvc-data', persistentVolumeClaim: { claimName: 'data', readOnly: false } }]);
    const controller = objects.find((o) => o.kind === 'Deployment' && o !== web);
    expect(controller.spec.template.spec.containers[0].image).toBe(`ghcr.io/cdk8s-storage/controller:${pkg.version}`);
    expect(controller.spec.template.spec.containers[0].args).toContain('--provisioner-name=cdk8s-storage.dev/nfs.apps.nfs');
  });
});

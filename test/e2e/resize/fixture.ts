/**
 * One resize deployment per test file: an `NfsProvisioner` (usage measured every second),
 * its classes and the file's `ResizableClaim`s, synthesized from the constructs and applied,
 * on a directory of its own under the harness's NFS export. The app can be synthesized
 * again with other claim sizes and applied over the first one: the "edit storage in the
 * app, synth, apply" flow a user follows.
 */
import * as fs from 'fs';
import { Duration, Size } from 'cdk8s';
import { Construct } from 'constructs';
import { AutoGrowPolicy, ResizableClaim } from '../../../src/constructs/claim';
import { NfsProvisioner, NfsServer, NfsStorageClass, NfsStorageClassOptions } from '../../../src/constructs/nfs';
import { PATHS } from '../../../src/contract/controller-config';
import { nfsTestEnv, NfsTestEnv } from '../nfs/fixture';
import {
  applyManifests,
  ControllerProcess,
  Controllers,
  deleteManifests,
  eventually,
  KubeObject,
  Manifests,
  paths,
  synth,
  uniqueName,
  waitForClaimBound,
} from '../support';

/** The run's control plane, NFS server and admin client (the NFS scenarios' environment). */
export type ResizeEnv = NfsTestEnv;
export const resizeEnv = nfsTestEnv;

export interface ClaimSpec {
  readonly storage: Size;
  readonly classId: string;
  readonly autoGrow?: AutoGrowPolicy;
}

export interface ResizeAppOptions {
  readonly prefix: string;
  readonly classes: Readonly<Record<string, NfsStorageClassOptions>>;
  /** ResizableClaims by name. */
  readonly claims: Readonly<Record<string, ClaimSpec>>;
  /** @default Duration.seconds(1) */
  readonly usageInterval?: Duration;
}

/** A deployed app; `resynth` gives the manifests of the same app with other claim sizes. */
export class ResizeApp {
  constructor(
    readonly env: ResizeEnv,
    private readonly options: ResizeAppOptions,
    readonly id: string,
    readonly manifests: Manifests,
    readonly claimsNamespace: string,
    readonly provisionerName: string,
    readonly classes: Readonly<Record<string, string>>,
    readonly root: string,
  ) {}

  public startController(controllers: Controllers): Promise<ControllerProcess> {
    return controllers.start(this.manifests, { mounts: { [PATHS.nfsRoot]: this.root } });
  }

  /** The claim as the API server has it now. */
  public async claim(name: string): Promise<KubeObject> {
    const c = await this.env.kube.get(paths.pvc(this.claimsNamespace, name));
    if (!c) throw new Error(`claim ${this.claimsNamespace}/${name} does not exist`);
    return c;
  }

  public async volumeOf(name: string): Promise<KubeObject> {
    const c = await this.claim(name);
    const pv = await this.env.kube.get(paths.pv(c.spec.volumeName));
    if (!pv) throw new Error(`claim ${name} has no volume`);
    return pv;
  }

  /** Edits a claim's request as `kubectl patch` would (a JSON merge patch). */
  public setRequest(name: string, storage: string): Promise<KubeObject> {
    return this.env.kube.patch(paths.pvc(this.claimsNamespace, name), { spec: { resources: { requests: { storage } } } });
  }

  /** The same app with some claims' sizes changed, synthesized again. */
  public resynth(sizes: Readonly<Record<string, Size>>): Manifests {
    return build(this.env, this.options, this.id, sizes).manifests;
  }

  /** Events on a claim, oldest first. */
  public events(name: string): Promise<KubeObject[]> {
    return this.env.kube.eventsFor(this.claimsNamespace, name, 'PersistentVolumeClaim');
  }

  /** Events on a claim reported by our controller. */
  public async ourEvents(name: string): Promise<KubeObject[]> {
    return (await this.events(name)).filter((e) => e.source?.component === this.provisionerName || e.reportingComponent === this.provisionerName);
  }

  public async cleanUp(): Promise<void> {
    const { kube } = this.env;
    await kube.delete(paths.namespace(this.claimsNamespace)).catch(() => undefined);
    const names = new Set(Object.values(this.classes));
    for (const pv of await kube.list(paths.pv()).catch(() => [] as KubeObject[])) {
      if (names.has(pv.spec?.storageClassName)) await kube.delete(paths.pv(pv.metadata.name)).catch(() => undefined);
    }
    await deleteManifests(this.env.cp, this.manifests);
  }
}

interface Built {
  readonly manifests: Manifests;
  readonly provisioner: NfsProvisioner;
  readonly classes: Record<string, NfsStorageClass>;
  readonly exportPath: string;
}

function build(env: ResizeEnv, options: ResizeAppOptions, id: string, sizes: Readonly<Record<string, Size>> = {}): Built {
  const exportPath = `${env.nfs.exportPath}/${id}`;
  let provisioner!: NfsProvisioner;
  const classes: Record<string, NfsStorageClass> = {};
  const manifests = synth((scope: Construct) => {
    provisioner = new NfsProvisioner(scope, 'nfs', {
      server: NfsServer.external({ host: env.nfs.host, path: exportPath }),
      namespace: `${id}-system`,
      createNamespace: true,
      provisionerName: `e2e.cdk8s-storage.dev/${id}`,
      replicas: 1,
      usageInterval: options.usageInterval ?? Duration.seconds(1),
    });
    for (const [classId, classOptions] of Object.entries(options.classes)) {
      classes[classId] = provisioner.addStorageClass(classId, { name: `${id}-${classId.toLowerCase()}`, ...classOptions });
    }
    for (const [name, spec] of Object.entries(options.claims)) {
      new ResizableClaim(scope, `claim-${name}`, {
        name,
        namespace: id,
        storageClass: classes[spec.classId],
        storage: sizes[name] ?? spec.storage,
        autoGrow: spec.autoGrow,
      });
    }
  });
  return { manifests, provisioner, classes, exportPath };
}

/**
 * Synthesizes and applies the app, creates the claims' namespace and the export directory,
 * and waits until every claim is Bound after starting the controller (`startController`
 * is left to the test, so it can start it whenever it wants: call `waitBound` after).
 */
export async function deployResizeApp(env: ResizeEnv, options: ResizeAppOptions): Promise<ResizeApp> {
  const id = uniqueName(options.prefix);
  const built = build(env, options, id);
  const root = env.nfs.diskPath(built.exportPath);
  fs.mkdirSync(root);
  fs.chmodSync(root, 0o755);
  await env.kube.ensure(paths.namespace(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: id } });
  await eventually(`the default ServiceAccount of ${id}`, async () => (await env.kube.get(`/api/v1/namespaces/${id}/serviceaccounts/default`)) !== undefined);
  await applyManifests(env.cp, built.manifests);
  const classes = Object.fromEntries(Object.entries(built.classes).map(([k, v]) => [k, v.name]));
  return new ResizeApp(env, options, id, built.manifests, id, built.provisioner.provisionerName, classes, root);
}

/** Waits until the app's claims are all Bound. */
export async function waitBound(app: ResizeApp, names: readonly string[]): Promise<void> {
  for (const name of names) await waitForClaimBound(app.env.kube, app.claimsNamespace, name);
}

/** `status.capacity.storage` of a claim. */
export function capacityOf(claim: KubeObject): string | undefined {
  return claim.status?.capacity?.storage;
}

/** Resize conditions still on a claim (none once a resize is finished). */
export function resizeConditions(claim: KubeObject): string[] {
  const types = ['Resizing', 'FileSystemResizePending', 'ControllerResizeError', 'NodeResizeError'];
  return (claim.status?.conditions ?? []).map((c: KubeObject) => c.type).filter((t: string) => types.includes(t));
}

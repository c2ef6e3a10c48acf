/**
 * One NFS provisioner deployment per test: an `NfsProvisioner` and its classes
 * synthesized from the constructs and applied, on a directory of its own under
 * the harness's NFS export (so tests never see each other's volumes), with its
 * own namespace, provisioner name, StorageClass names and claims namespace.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Construct } from 'constructs';
import { NfsProvisioner, NfsServer, NfsStorageClass, NfsStorageClassOptions } from '../../../src/constructs/nfs';
import { PATHS } from '../../../src/contract/controller-config';
import { connect, ControlPlane, NfsServer as HarnessNfs } from '../harness';
import {
  applyManifests,
  ControllerOptions,
  ControllerProcess,
  Controllers,
  deleteManifests,
  eventually,
  Kube,
  KubeObject,
  Manifests,
  paths,
  synth,
  uniqueName,
} from '../support';

export interface NfsTestEnv {
  readonly cp: ControlPlane;
  readonly nfs: HarnessNfs;
  /** Admin API client. */
  readonly kube: Kube;
}

/** Attaches to the run's control plane and NFS server. */
export function nfsTestEnv(): NfsTestEnv {
  const { controlPlane, nfs } = connect();
  return { cp: controlPlane, nfs, kube: Kube.fromKubeconfig(controlPlane.kubeconfig) };
}

export interface DeployOptions {
  /** Prefix of every name (test id). */
  readonly prefix: string;
  /** Classes by id; names are generated unless given. */
  readonly classes: Readonly<Record<string, NfsStorageClassOptions>>;
  /** NfsProvisioner replicas (default: the construct's default). */
  readonly replicas?: number;
  /** Also synthesize these constructs in the same chart (e.g. ResizableClaims in the claims namespace). */
  readonly extra?: (scope: Construct, context: ChartContext) => void;
}

export interface ChartContext {
  readonly provisioner: NfsProvisioner;
  readonly classes: Readonly<Record<string, NfsStorageClass>>;
  readonly claimsNamespace: string;
}

/** A deployed provisioner: what the test needs to drive and check it. */
export class NfsDeployment {
  constructor(
    readonly env: NfsTestEnv,
    readonly manifests: Manifests,
    /** Namespace of the controller (and its Lease). */
    readonly namespace: string,
    /** Namespace for the test's claims (and pods). */
    readonly claimsNamespace: string,
    readonly provisionerName: string,
    readonly leaseName: string,
    /** StorageClass name by class id. */
    readonly classes: Readonly<Record<string, string>>,
    /** The provisioner's export directory on disk (the controller's --root). */
    readonly root: string,
    /** The same directory as an NFS path (what PVs carry). */
    readonly exportPath: string,
  ) {}

  /** Starts one controller process as a replica of the synthesized Deployment. */
  public startController(controllers: Controllers, options: ControllerOptions = {}): Promise<ControllerProcess> {
    return controllers.start(this.manifests, { mounts: { [PATHS.nfsRoot]: this.root }, ...options });
  }

  /** A claim of one of the classes, in the claims namespace. */
  public claim(name: string, classId: string, options: {
    storage?: string;
    accessModes?: string[];
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } = {}): KubeObject {
    const className = this.classes[classId];
    if (!className) {
      throw new Error(`no class ${classId} (classes: ${Object.keys(this.classes).join(', ')})`);
    }
    return {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name, namespace: this.claimsNamespace, labels: options.labels, annotations: options.annotations },
      spec: {
        storageClassName: className,
        accessModes: options.accessModes ?? ['ReadWriteMany'],
        resources: { requests: { storage: options.storage ?? '1Gi' } },
      },
    };
  }

  /** Creates a claim (see `claim`); returns the created object. */
  public createClaim(name: string, classId: string, options: Parameters<NfsDeployment['claim']>[2] = {}): Promise<KubeObject> {
    return this.env.kube.create(paths.pvc(this.claimsNamespace), this.claim(name, classId, options));
  }

  /** PVs of this provisioner's classes. */
  public async volumes(): Promise<KubeObject[]> {
    const names = new Set(Object.values(this.classes));
    return (await this.env.kube.list(paths.pv())).filter((pv) => names.has(pv.spec?.storageClassName));
  }

  /** The on-disk path of a PV's directory (from its NFS path). */
  public diskPathOf(pv: KubeObject): string {
    return this.env.nfs.diskPath(pv.spec.nfs.path);
  }

  /** Removes everything the deployment created in the cluster (does not wait). */
  public async cleanUp(): Promise<void> {
    const { cp, kube } = this.env;
    await kube.delete(paths.namespace(this.claimsNamespace)).catch(() => undefined);
    for (const pv of await this.volumes().catch(() => [])) {
      await kube.delete(paths.pv(pv.metadata.name)).catch(() => undefined);
    }
    await deleteManifests(cp, this.manifests);
  }
}

/**
 * Synthesizes an NfsProvisioner (namespace created by the construct) with the
 * given classes, applies it, creates the claims namespace, and prepares the
 * export directory. The controller is not started (`startController`).
 */
export async function deployNfs(env: NfsTestEnv, options: DeployOptions): Promise<NfsDeployment> {
  const id = uniqueName(options.prefix);
  const namespace = `${id}-system`;
  const claimsNamespace = id;
  const provisionerName = `e2e.cdk8s-storage.dev/${id}`;

  // The provisioner's own directory on the export, as an NFS path and on disk.
  const exportPath = `${env.nfs.exportPath}/${id}`;
  const root = env.nfs.diskPath(exportPath);
  fs.mkdirSync(root);
  fs.chmodSync(root, 0o755);

  const classNames: Record<string, string> = {};
  const classes: Record<string, NfsStorageClass> = {};
  let provisioner!: NfsProvisioner;
  const manifests = synth((scope) => {
    provisioner = new NfsProvisioner(scope, 'nfs', {
      server: NfsServer.external({ host: env.nfs.host, path: exportPath }),
      namespace,
      createNamespace: true,
      provisionerName,
      replicas: options.replicas,
    });
    for (const [classId, classOptions] of Object.entries(options.classes)) {
      const sc = provisioner.addStorageClass(classId, { name: `${id}-${classId.toLowerCase()}`, ...classOptions });
      classNames[classId] = sc.name;
      classes[classId] = sc;
    }
    options.extra?.(scope, { provisioner, classes, claimsNamespace });
  });
  await env.kube.ensure(paths.namespace(), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: claimsNamespace } });
  await applyManifests(env.cp, manifests);
  return new NfsDeployment(env, manifests, namespace, claimsNamespace, provisionerName, provisioner.leaseName, classNames, root, exportPath);
}

/** Waits until the namespace's default ServiceAccount exists (pods are refused before). */
export async function waitForDefaultServiceAccount(kube: Kube, namespace: string): Promise<void> {
  await eventually(`the default ServiceAccount of ${namespace}`, async () =>
    (await kube.get(`/api/v1/namespaces/${namespace}/serviceaccounts/default`)) !== undefined);
}

/**
 * Waits until `dir` holds exactly these entries (names, any order). A PV exists a
 * moment before the controller has tidied up after creating it (its provisioning
 * note), so listings are waited for, not taken at once.
 */
export async function waitForEntries(dir: string, expected: string[]): Promise<void> {
  const want = [...expected].sort();
  let seen: string[] = [];
  await eventually(`${dir} to hold exactly ${want.length} entries`, async () => {
    seen = fs.existsSync(dir) ? fs.readdirSync(dir).sort() : [];
    return JSON.stringify(seen) === JSON.stringify(want);
  }, { describe: () => `expected: ${want.join(', ')}\nfound:    ${seen.join(', ')}` });
}

/** Volume directories directly under `dir` (relative names, sorted). */
export function subdirectories(dir: string): string[] {
  if (!fs.existsSync(dir)) {
    return [];
  }
  return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/** `path.join` for a directory under a deployment root, with a check that it stays inside. */
export function under(root: string, relative: string): string {
  const p = path.join(root, relative);
  if (!p.startsWith(`${root}/`)) {
    throw new Error(`${relative} is not under ${root}`);
  }
  return p;
}

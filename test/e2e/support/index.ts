/**
 * Shared helpers for e2e tests on the real control plane: synthesize charts from
 * the constructs, apply them, run the controller bundle as the synthesized
 * workload would, talk to the API server, and wait for states.
 *
 *   const controllers = useControllers();          // 403 scan after each test, stop after all
 *   const { controlPlane: cp } = connect();
 *   const kube = Kube.fromKubeconfig(cp.kubeconfig);
 *   const manifests = synth((scope) => new NfsProvisioner(scope, 'nfs', { ... }));
 *   await applyManifests(cp, manifests);           // workloads: server-side dry run only
 *   const ctl = await controllers.start(manifests, { mounts: { '/persistentvolumes': dir } });
 *   await ctl.waitForLog('caches synced; working');
 *   await waitForClaimBound(kube, ns, 'data');
 *   await ctl.kill('SIGKILL'); await ctl.start();  // a crash and the kubelet's restart
 *
 * An NFS or resize file deploys its provisioner with one hook instead (nfs-deployment.ts):
 *   const nfs = useNfsDeployment({ deploy: () => deployNfs(env, { ... }), startController: true });
 */
export * from './apply';
export * from './bundle';
export * from './controller';
export * from './kube';
export * from './logs';
export * from './names';
export * from './nfs-deployment';
export * from './seeded-random';
export * from './synth';
export * from './tree';
export * from './wait';
export { sleep } from '../harness';

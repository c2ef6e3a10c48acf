/**
 * The real-control-plane e2e harness: etcd + kube-apiserver +
 * kube-controller-manager + kube-scheduler on loopback, and an nfs-ganesha
 * export with libnfs as its client, and a real node (containerd + kubelet,
 * `node.ts`) that runs pods from the locally built controller image.
 *
 * In a test file:
 *
 *   import { connect } from './harness';
 *   const { controlPlane, nfs } = connect();
 */
export * from './controlPlane';
export * from './nfsServer';
export * from './node';
export * from './environment';
export type { ProcessRecord, RunResult } from './proc';
export { StopWaiting, waitFor, sleep, isRunning, run } from './proc';

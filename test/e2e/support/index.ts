/**
 * Shared helpers for e2e tests on the real control plane: synthesize charts from
 * the constructs, apply them, run the controller bundle as the synthesized
 * workload would, talk to the API server, and wait for states.
 */
export * from './apply';
export * from './bundle';
export * from './controller';
export * from './kube';
export * from './logs';
export * from './names';
export * from './synth';
export * from './tree';
export * from './wait';
export { sleep } from '../harness';

/**
 * Runs a one-shot pod on the test node and returns its output: how tests look
 * inside a real pod (its network, its environment) from the controller image.
 */
import { ControlPlane, onTestNode, TEST_NODE_NAME, waitFor } from '../harness';

export interface PodRun {
  readonly phase: 'Succeeded' | 'Failed';
  readonly logs: string;
  /** From `kubectl apply` to the pod's end. */
  readonly seconds: number;
}

/** Runs `node -e <script>` in a pod from `image`; with `apiPort`, made to talk to the API server (`onTestNode`). */
export async function runNodeScript(
  cp: ControlPlane,
  options: { name: string; namespace: string; image: string; script: string; env?: Record<string, string>; apiPort?: number },
): Promise<PodRun> {
  const pod = onTestNode({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: options.name, namespace: options.namespace },
    spec: {
      nodeName: TEST_NODE_NAME,
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      containers: [{
        name: 'script',
        image: options.image,
        command: ['node', '-e', options.script],
        env: Object.entries(options.env ?? {}).map(([name, value]) => ({ name, value })),
      }],
    },
  }, { image: options.image, apiPort: options.apiPort });
  const started = Date.now();
  await cp.applyYaml(pod);
  const phase = await waitFor(`pod ${options.name} to end`, async () => {
    const p = await cp.getJson(['pod', options.name, '-n', options.namespace]);
    return ['Succeeded', 'Failed'].includes(p?.status?.phase) ? p.status.phase as PodRun['phase'] : undefined;
  }, { timeoutMs: 60_000 });
  const seconds = (Date.now() - started) / 1000;
  const logs = (await cp.kubectl(['logs', options.name, '-n', options.namespace])).stdout;
  await cp.kubectl(['delete', 'pod', options.name, '-n', options.namespace, '--wait=false'], { allowFailure: true });
  return { phase, logs, seconds };
}

/**
 * Run by connection-reuse.test.ts as a bundled child (client-node is ESM-only, jest cannot
 * load it): the real KubeClient, configured by loadKubeConfig, makes the requests the test
 * asks for against the test's HTTPS server and prints what it got as one JSON line.
 *
 *   node child.js <kubeconfig> serial|burst|watch|writes <count>
 */
import { KubeClient, loadKubeConfig } from '../../../src/runtime/kube/client';

async function main(): Promise<void> {
  const [kubeconfig, mode, countText] = process.argv.slice(2);
  const count = Number(countText);
  const client = new KubeClient(loadKubeConfig(kubeconfig));
  const classes = client.storageClasses();
  if (mode === 'writes') {
    // A list through client-node, then each kind of plain-JSON write, `count` times.
    const listed = [(await classes.list()).items.length];
    const answers: unknown[] = [];
    for (let i = 0; i < count; i++) {
      answers.push(await client.volumeWriter().createVolume({ metadata: { name: `pv-${i}` } }));
      answers.push((await client.claimPatcher().patchClaim('ns', `claim-${i}`, { metadata: { annotations: { k: 'v' } } }, '5')).metadata?.resourceVersion);
      await client.eventPort().create('ns', { metadata: { name: `e-${i}` }, involvedObject: {} });
      answers.push(await client.volumeWriter().deleteVolume(`pv-${i}`, 'u-1'));
    }
    print({ listed, answers });
  } else if (mode === 'serial') {
    const listed: number[] = [];
    for (let i = 0; i < count; i++) listed.push((await classes.list()).items.length);
    print({ listed });
  } else if (mode === 'burst') {
    const results = await Promise.all(Array.from({ length: count }, () => classes.list()));
    print({ listed: results.map((r) => r.items.length) });
  } else {
    // A watch, then requests while it is open: the watch gets its events, the requests their answers.
    const events: string[] = [];
    let sawEvent!: () => void;
    const first = new Promise<void>((resolve) => { sawEvent = resolve; });
    const handle = await classes.watch('1', 60, (type, obj) => {
      events.push(`${type} ${obj.metadata?.name}`);
      sawEvent();
    }, () => undefined);
    await first;
    const listed: number[] = [];
    for (let i = 0; i < count; i++) listed.push((await classes.list()).items.length);
    handle.abort();
    print({ events, listed });
  }
}

function print(result: object): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().then(() => process.exit(0), (error) => {
  process.stderr.write(`${(error as Error).stack ?? error}\n`);
  process.exit(1);
});

/**
 * Watches PVs by label with the admin credentials and tells when N of them are Available:
 * one watch stream, so observing a run adds no polling load to the API server under test.
 */
import * as fs from 'fs';
import * as https from 'https';
import * as yaml from 'js-yaml';

export interface AvailableWatch {
  /** Resolves with Date.now() at the event that made `count` PVs Available. */
  readonly done: Promise<number>;
  /** Resolves with Date.now() when `count` PVs exist (in any phase). */
  readonly created: Promise<number>;
  /** How many are Available now. */
  available(): number;
  stop(): void;
}

export async function watchAvailable(kubeconfig: string, labelSelector: string, count: number): Promise<AvailableWatch> {
  const config = yaml.load(fs.readFileSync(kubeconfig, 'utf8')) as any;
  const cluster = config.clusters[0].cluster;
  const user = config.users[0].user;
  const agent = new https.Agent({
    ca: Buffer.from(cluster['certificate-authority-data'], 'base64'),
    cert: Buffer.from(user['client-certificate-data'], 'base64'),
    key: Buffer.from(user['client-key-data'], 'base64'),
  });
  const get = (query: string, onData?: (chunk: string) => void): Promise<string> => new Promise((resolve, reject) => {
    const req = https.get(new URL(`${cluster.server}/api/v1/persistentvolumes?${query}`), { agent }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (onData ? onData(c.toString('utf8')) : (body += c.toString('utf8'))));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('error', reject);
    requests.push(req);
  });
  const requests: ReturnType<typeof https.get>[] = [];
  const phases = new Map<string, string | undefined>();
  const list = JSON.parse(await get(new URLSearchParams({ labelSelector }).toString()));
  for (const pv of list.items) phases.set(pv.metadata.name, pv.status?.phase);
  const available = () => [...phases.values()].filter((p) => p === 'Available').length;

  let resolveDone!: (t: number) => void;
  const done = new Promise<number>((resolve) => { resolveDone = resolve; });
  let resolveCreated!: (t: number) => void;
  const created = new Promise<number>((resolve) => { resolveCreated = resolve; });
  const check = () => {
    if (phases.size >= count) resolveCreated(Date.now());
    if (available() >= count) resolveDone(Date.now());
  };
  check();
  let buffered = '';
  void get(new URLSearchParams({ labelSelector, watch: '1', resourceVersion: list.metadata.resourceVersion }).toString(), (chunk) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const event = JSON.parse(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      if (event.type === 'DELETED') phases.delete(event.object.metadata.name);
      else if (event.type === 'ADDED' || event.type === 'MODIFIED') phases.set(event.object.metadata.name, event.object.status?.phase);
      check();
    }
  }).catch(() => undefined);
  return {
    done,
    created,
    available,
    stop: () => {
      for (const r of requests) r.destroy();
      agent.destroy();
    },
  };
}

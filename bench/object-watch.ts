/**
 * Watches one collection (e.g. `/api/v1/persistentvolumes`) with the admin credentials and
 * keeps the phase of every object: one list and one watch stream, so observing a run adds
 * no polling load to the API server under test. `until` resolves with Date.now() at the
 * event that made a condition on the phases true.
 */
import * as fs from 'fs';
import * as https from 'https';
import * as yaml from 'js-yaml';

/** What a condition sees: how many objects there are, and how many are in a phase. */
export interface Phases {
  readonly size: number;
  count(phase: string | undefined): number;
}

export interface ObjectWatch extends Phases {
  until(condition: (phases: Phases) => boolean): Promise<number>;
  stop(): void;
}

export interface WatchOptions {
  readonly labelSelector?: string;
  /** Only objects this returns true for are kept (e.g. the PVs of one class). */
  readonly filter?: (obj: any) => boolean;
}

export async function watchObjects(kubeconfig: string, collectionPath: string, options: WatchOptions = {}): Promise<ObjectWatch> {
  const config = yaml.load(fs.readFileSync(kubeconfig, 'utf8')) as any;
  const cluster = config.clusters[0].cluster;
  const user = config.users[0].user;
  const agent = new https.Agent({
    ca: Buffer.from(cluster['certificate-authority-data'], 'base64'),
    cert: Buffer.from(user['client-certificate-data'], 'base64'),
    key: Buffer.from(user['client-key-data'], 'base64'),
  });
  const requests: ReturnType<typeof https.get>[] = [];
  const get = (query: URLSearchParams, onData?: (chunk: string) => void): Promise<string> => new Promise((resolve, reject) => {
    const req = https.get(new URL(`${cluster.server}${collectionPath}?${query}`), { agent }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (onData ? onData(c.toString('utf8')) : (body += c.toString('utf8'))));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('error', reject);
    requests.push(req);
  });
  const selector: Record<string, string> = options.labelSelector ? { labelSelector: options.labelSelector } : {};
  const keep = options.filter ?? (() => true);

  const phaseOf = new Map<string, string | undefined>();
  const counts = new Map<string | undefined, number>();
  const set = (name: string, phase: string | undefined) => {
    const was = phaseOf.get(name);
    if (phaseOf.has(name)) counts.set(was, (counts.get(was) ?? 0) - 1);
    phaseOf.set(name, phase);
    counts.set(phase, (counts.get(phase) ?? 0) + 1);
  };
  const remove = (name: string) => {
    if (!phaseOf.has(name)) return;
    const was = phaseOf.get(name);
    counts.set(was, (counts.get(was) ?? 0) - 1);
    phaseOf.delete(name);
  };
  const phases: Phases = {
    get size() { return phaseOf.size; },
    count: (phase) => counts.get(phase) ?? 0,
  };
  const waiting: Array<{ condition: (p: Phases) => boolean; resolve: (t: number) => void }> = [];
  const check = () => {
    for (let i = waiting.length - 1; i >= 0; i--) {
      if (waiting[i].condition(phases)) {
        waiting[i].resolve(Date.now());
        waiting.splice(i, 1);
      }
    }
  };

  const list = JSON.parse(await get(new URLSearchParams(selector)));
  for (const obj of list.items) if (keep(obj)) set(obj.metadata.name, obj.status?.phase);
  let buffered = '';
  void get(new URLSearchParams({ ...selector, watch: '1', resourceVersion: list.metadata.resourceVersion }), (chunk) => {
    buffered += chunk;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const event = JSON.parse(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      if (event.type === 'DELETED') remove(event.object.metadata.name);
      else if ((event.type === 'ADDED' || event.type === 'MODIFIED') && keep(event.object)) set(event.object.metadata.name, event.object.status?.phase);
      check();
    }
  }).catch(() => undefined);
  return {
    get size() { return phaseOf.size; },
    count: phases.count,
    until: (condition) => {
      if (condition(phases)) return Promise.resolve(Date.now());
      return new Promise((resolve) => waiting.push({ condition, resolve }));
    },
    stop: () => {
      for (const r of requests) r.destroy();
      agent.destroy();
    },
  };
}

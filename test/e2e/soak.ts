/**
 * Soak: runs the crash scenarios (crash window, crash burst; test/e2e/nfs/crash-scenarios.ts)
 * round after round on the real control plane and counts what they leave behind:
 * orphans (directories or PVs no claim owns) and duplicates (two PVs or directories
 * for one claim), per round and in total. A crash test that is green only most of the
 * time shows up here.
 *
 *   npm run soak -- --rounds 20 [--seed <n>]
 *
 * Exits non-zero when any orphan or duplicate was found, or a scenario failed (a step
 * not reached, its end state not reached, a 403 in a controller's log). Uses the
 * environment of `npm run e2e:up` (or $CDK8S_STORAGE_E2E_STATE) when one is running,
 * else starts one of its own and stops it at the end. Each scenario gets a fresh
 * deployment; burst seeds are <seed> + round, so `E2E_SEED=<printed seed>` replays one
 * in the e2e test.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { connect, E2E_STATE_ENV, ensurePackages, startEnvironment, stopEnvironment } from './harness';
import { crashBurst, crashWindow, deployCrashTarget } from './nfs/crash-scenarios';
import { auditExport } from './nfs/export-audit';
import { NfsDeployment, NfsTestEnv } from './nfs/fixture';
import { Controllers, Kube } from './support';

const UP_STATE = path.join(process.env.E2E_UP_STATE_DIR ?? path.join(os.tmpdir(), 'cdk8s-storage-e2e-up'), 'state.json');

interface ScenarioResult {
  readonly name: string;
  readonly seconds: number;
  readonly orphans: string[];
  readonly duplicates: string[];
  /** Why the scenario failed other than by orphans or duplicates. */
  readonly failures: string[];
}

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  return process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function positiveInteger(name: string, fallback: number): number {
  const raw = option(name);
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return value;
}

/** A scenario run on a fresh target; resolves with the end-state problems it found. */
type Scenario = (controllers: Controllers, target: NfsDeployment) => Promise<string[]>;

/** Deploys a fresh target, runs one scenario on it, audits the export, and cleans up whatever happened. */
async function runScenario(env: NfsTestEnv, name: string, run: Scenario): Promise<ScenarioResult> {
  const started = Date.now();
  const controllers = new Controllers(() => env.cp);
  const failures: string[] = [];
  let audit = { orphans: [] as string[], duplicates: [] as string[] };
  const target = await deployCrashTarget(env, `soak-${name}`);
  try {
    failures.push(...await run(controllers, target));
  } catch (error) {
    failures.push(`stopped: ${(error as Error).message.split('\n')[0]}`);
  } finally {
    try {
      audit = await auditExport(target);
    } catch (error) {
      failures.push(`could not audit the export: ${(error as Error).message}`);
    }
    // Stops the processes and fails on any 403 in their logs.
    await controllers.stopAll().catch((error) => failures.push((error as Error).message.split('\n')[0]));
    await target.cleanUp().catch(() => undefined);
  }
  return { name, seconds: (Date.now() - started) / 1000, ...audit, failures };
}

function describe(r: ScenarioResult): string {
  return `${r.name} ${r.seconds.toFixed(1)} s: orphans ${r.orphans.length}, duplicates ${r.duplicates.length}${r.failures.length ? `, FAILED (${r.failures.length})` : ''}`;
}

async function main(): Promise<number> {
  const rounds = positiveInteger('rounds', 20);
  const seed = positiveInteger('seed', (Date.now() % 1_000_000) + 1);

  let ownStateFile: string | undefined;
  let stateFile = process.env[E2E_STATE_ENV] ?? (fs.existsSync(UP_STATE) ? UP_STATE : undefined);
  if (!stateFile) {
    ensurePackages();
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-storage-e2e-run-'));
    stateFile = ownStateFile = (await startEnvironment({ stateDir, ownerPid: process.pid })).stateFile;
  }
  process.env[E2E_STATE_ENV] = stateFile;
  const { controlPlane, nfs } = connect(stateFile);
  const env: NfsTestEnv = { cp: controlPlane, nfs, kube: Kube.fromKubeconfig(controlPlane.kubeconfig) };
  process.stdout.write(`soak: ${rounds} rounds of crash-window and crash-burst (seeds ${seed}..${seed + rounds - 1})\n`);

  const all: ScenarioResult[] = [];
  const started = Date.now();
  try {
    for (let round = 1; round <= rounds; round++) {
      const roundStarted = Date.now();
      const results = [
        await runScenario(env, 'crash-window', async (controllers, target) => (await crashWindow(env, target, controllers)).problems),
        await runScenario(env, 'crash-burst', async (controllers, target) => (await crashBurst(target, controllers, seed + round - 1)).problems),
      ];
      all.push(...results);
      process.stdout.write(`round ${round}/${rounds} (${((Date.now() - roundStarted) / 1000).toFixed(1)} s, burst seed ${seed + round - 1}): ${results.map(describe).join(' | ')}\n`);
      for (const r of results) {
        for (const line of [...r.orphans.map((o) => `orphan: ${o}`), ...r.duplicates.map((x) => `duplicate: ${x}`), ...r.failures]) {
          process.stdout.write(`  ${r.name}: ${line}\n`);
        }
      }
    }
  } finally {
    if (ownStateFile) await stopEnvironment(ownStateFile, { quiet: true });
  }

  const sum = (pick: (r: ScenarioResult) => string[]) => all.reduce((n, r) => n + pick(r).length, 0);
  const orphans = sum((r) => r.orphans);
  const duplicates = sum((r) => r.duplicates);
  const failed = all.filter((r) => r.failures.length > 0).length;
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(`soak: ${rounds} rounds in ${seconds.toFixed(0)} s (${(seconds / rounds).toFixed(1)} s a round): `
    + `orphans ${orphans}, duplicates ${duplicates}, failed scenarios ${failed} of ${all.length}\n`);
  return orphans + duplicates + failed === 0 ? 0 : 1;
}

main().then((code) => process.exit(code), (error) => {
  process.stderr.write(`soak: ${(error as Error).stack ?? error}\n`);
  process.exit(2);
});

/**
 * Scenario 7: the controller is killed (-9) at random points while a burst of
 * 100 claims is created and some of them deleted again, and restarted each
 * time (the scenario is in crash-scenarios.ts; the soak repeats it). In the end
 * every claim is Bound or deleted as asked: one PV per remaining claim, no PV
 * for a deleted one, and exactly one directory per remaining claim (no orphan
 * left by a crash between making a directory and creating its PV).
 *
 * Random choices come from a seed printed at the start; E2E_SEED=<n> replays them.
 */
import { BURST, crashBurst, deployCrashTarget } from './crash-scenarios';
import { auditExport } from './export-audit';
import { NfsDeployment, nfsTestEnv } from './fixture';
import { burstSeed, scaled, useNfsDeployment } from '../support';

let d: NfsDeployment;
const { controllers } = useNfsDeployment({ deploy: async () => (d = await deployCrashTarget(nfsTestEnv(), 'crash')) });

// Creating the burst, three Lease takeovers and binding about 65 claims take 2-3 minutes
// here; the bound is generous so a slow machine does not fail a correct run.
test('kill -9 at random points of a burst of 100 claims and deletions: every claim ends Bound or deleted, no orphan, no duplicate', async () => {
  const outcome = await crashBurst(d, controllers, burstSeed());

  expect(outcome.problems).toEqual([]); // the seed and the kill points are printed above
  expect(await auditExport(d)).toEqual({ orphans: [], duplicates: [] });
  // Every volume's directory is the one named after its claim.
  for (const pv of await d.volumes()) {
    expect(pv.spec.nfs.path).toBe(`${d.exportPath}/${d.claimsNamespace}/${pv.spec.claimRef.name}`);
  }
  expect(outcome.starts).toBe(BURST.kills + 1);
}, scaled(900_000));

/**
 * Scenario 7, the narrow window made wide: a crash after a claim's directory was
 * made and before its PV exists (the scenario is in crash-scenarios.ts; the soak
 * repeats it). A claim deleted while the controller is down must not leave its
 * directory behind; a claim still there gets its volume, in the directory made
 * before the crash.
 */
import { crashWindow, deployCrashTarget } from './crash-scenarios';
import { auditExport } from './export-audit';
import { NfsDeployment, nfsTestEnv, NfsTestEnv } from './fixture';
import { useNfsDeployment } from '../support';

let env: NfsTestEnv;
let d: NfsDeployment;
const { controllers } = useNfsDeployment({
  deploy: async () => {
    env = nfsTestEnv();
    return (d = await deployCrashTarget(env, 'window'));
  },
});

test('a crash between directory and PV: a claim deleted meanwhile leaves no directory, a remaining one reuses it', async () => {
  const outcome = await crashWindow(env, d, controllers);

  // Both claims got as far as their directories before the crash; their PVs were refused.
  expect(outcome.refusals).toEqual([expect.stringContaining('cannot create PersistentVolume'), expect.stringContaining('cannot create PersistentVolume')]);
  expect(outcome.directoriesAtCrash).toEqual(['stuck-gone', 'stuck-kept']);

  // The remaining claim got its volume in the directory made before the crash.
  expect(outcome.keptVolumePath).toBe(`${d.exportPath}/${d.claimsNamespace}/stuck-kept`);
  expect(outcome.provisionsAfterRestart).toEqual([expect.objectContaining({ claim: `${d.claimsNamespace}/stuck-kept`, reused: true })]);

  // The deleted claim's directory is gone, and so are the controller's notes.
  expect(outcome.problems).toEqual([]);
  expect(await auditExport(d)).toEqual({ orphans: [], duplicates: [] });
});

/**
 * The usage meter of `--quota=none`: subdir mode's walk (nfs/usage.ts: bounded passes,
 * cached between them, no link followed), over each volume's data directory. statvfs
 * cannot tell: every directory of the backing filesystem reports the same whole disk.
 */
import type { ServerLayout } from './layout';
import { Measurement, PassResult, UsageMeter, VolumeDirectory } from '../nfs/usage';
import type { VolumeMeter } from '../nfs/usage-monitor';

export class DirectoryMeter implements VolumeMeter {
  private readonly walker: UsageMeter;

  /** `budgetMs`: the time one pass may take (the rest is measured by the next passes). */
  constructor(private readonly layout: ServerLayout, budgetMs: number) {
    this.walker = new UsageMeter(layout.volumesDir, { budgetMs });
  }

  get(name: string): Measurement | undefined {
    return this.walker.get(name);
  }

  /** The PV's path names its export, not where its directory is: the layout says that. */
  pass(volumes: readonly VolumeDirectory[]): Promise<PassResult> {
    return this.walker.pass(volumes.map((v) => ({ name: v.name, relativePath: this.layout.dataDirectoryBelowVolumes(v.name) })));
  }
}

/**
 * The usage meter of `--quota=loop-image` and `xfs-project`: statvfs of each volume (its
 * own filesystem; its project's limit and usage), exact and constant-time however many
 * files a volume holds (subdir mode and `--quota=none` have to walk directories).
 */
import type { VolumeUsage } from './backend';
import type { Measurement, PassResult, VolumeDirectory } from '../nfs/usage';
import type { VolumeMeter } from '../nfs/usage-monitor';

export class StatvfsMeter implements VolumeMeter {
  private readonly cache = new Map<string, Measurement>();

  /** `usage` is the volume manager's (its backend's statvfs of the volume). */
  constructor(private readonly usage: (pv: string) => Promise<VolumeUsage>, private readonly now: () => number = Date.now) {}

  get(name: string): Measurement | undefined {
    return this.cache.get(name);
  }

  async pass(volumes: readonly VolumeDirectory[]): Promise<PassResult> {
    const started = this.now();
    const wanted = new Set(volumes.map((v) => v.name));
    for (const name of [...this.cache.keys()]) if (!wanted.has(name)) this.cache.delete(name);
    const complete: string[] = [];
    const failed: Array<{ name: string; error: string }> = [];
    for (const { name } of volumes) {
      try {
        const { usedBytes } = await this.usage(name);
        this.cache.set(name, { bytes: BigInt(usedBytes), complete: true, entries: 0, measuredAt: new Date(this.now()) });
        complete.push(name);
      } catch (error) {
        failed.push({ name, error: (error as Error).message });
      }
    }
    return { complete, partial: [], notReached: [], failed, seconds: (this.now() - started) / 1000 };
  }
}

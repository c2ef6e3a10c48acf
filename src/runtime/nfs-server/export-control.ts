/**
 * Adding and removing one export on the running ganesha through its D-Bus export manager
 * (`dbus-send`, from the dbus package the server image carries). The file is the source of
 * truth (ganesha reads exports.d again at its next start); these calls make the running
 * server agree without a reload that would touch the other exports.
 */
import { exportSelector } from './ganesha-config';
import type { CommandRunner } from '../core/command';

const EXPORT_MANAGER = ['--dest=org.ganesha.nfsd', '/org/ganesha/nfsd/ExportMgr'];
const INTERFACE = 'org.ganesha.nfsd.exportmgr';

export class ExportControl {
  /** `busAddress`: the bus ganesha is on, e.g. `unix:path=/run/cdk8s-storage/bus`. */
  constructor(private readonly busAddress: string, private readonly run: CommandRunner) {}

  /** Serves the export in `file`; an export that is already active counts as done. */
  async add(file: string, exportId: number): Promise<void> {
    try {
      await this.call('AddExport', `string:${file}`, `string:${exportSelector(exportId)}`);
    } catch (error) {
      if (!/already active/.test((error as Error).message)) throw error;
    }
  }

  /** Stops serving export `exportId`; one that is not served counts as done. */
  async remove(exportId: number): Promise<void> {
    try {
      await this.call('RemoveExport', `uint16:${exportId}`);
    } catch (error) {
      if (!/Export id not found|lookup_export failed/.test((error as Error).message)) throw error;
    }
  }

  /** Ids of the exports ganesha serves now (0 is its pseudo root). */
  async list(): Promise<number[]> {
    const out = await this.call('ShowExports');
    // Each export is a struct starting with `uint16 <id>`.
    return [...out.matchAll(/uint16 (\d+)/g)].map((m) => Number(m[1]));
  }

  private call(method: string, ...args: string[]): Promise<string> {
    return this.run('dbus-send', [`--bus=${this.busAddress}`, '--print-reply', '--reply-timeout=10000', ...EXPORT_MANAGER, `${INTERFACE}.${method}`, ...args]);
  }
}

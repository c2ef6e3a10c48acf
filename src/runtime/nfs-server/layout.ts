/**
 * Where the in-cluster server keeps everything on its backing storage (`--data-dir`), so a
 * restarted or rescheduled pod finds its volumes, exports and NFSv4 client state again:
 *
 *   <data>/volumes/<pv>/image        the volume's XFS image (loop-mounted; --quota=loop-image)
 *   <data>/volumes/<pv>/data         the volume's directory (--quota=none and xfs-project)
 *   <data>/volumes/<pv>/volume.json  its record: size, export id, filesystem id, onDelete
 *   <data>/mounts/<pv>               its mountpoint (immutable while nothing is mounted on it)
 *   <data>/exports.d/<pv>.conf       its ganesha EXPORT block (`%dir` includes every file)
 *   <data>/staging/                  export files and records being written (renamed into place)
 *   <data>/journal/<pv>.json         a note per multi-step change in progress (crash safety)
 *   <data>/archived/<pv>-<time>.img  images kept by onDelete ARCHIVE (directories: <pv>-<time>)
 *   <data>/ganesha/recovery          ganesha's NFSv4 recovery directory (clients reclaim state)
 */
import * as path from 'path';

/** PV names are `pvc-<uid>`: the only names ever joined into these paths. */
const PV_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

export class ServerLayout {
  constructor(public readonly dataDir: string) {}

  get volumesDir(): string { return path.join(this.dataDir, 'volumes'); }
  get mountsDir(): string { return path.join(this.dataDir, 'mounts'); }
  get exportsDir(): string { return path.join(this.dataDir, 'exports.d'); }
  get stagingDir(): string { return path.join(this.dataDir, 'staging'); }
  get journalDir(): string { return path.join(this.dataDir, 'journal'); }
  get archivedDir(): string { return path.join(this.dataDir, 'archived'); }
  get recoveryDir(): string { return path.join(this.dataDir, 'ganesha', 'recovery'); }

  /** Every directory the layout needs, parents first. */
  get directories(): string[] {
    return [this.volumesDir, this.mountsDir, this.exportsDir, this.stagingDir, this.journalDir, this.archivedDir, this.recoveryDir];
  }

  volumeDir(pv: string): string { return path.join(this.volumesDir, checked(pv)); }
  image(pv: string): string { return path.join(this.volumeDir(pv), 'image'); }
  dataDirectory(pv: string): string { return path.join(this.volumeDir(pv), 'data'); }
  /** {@link dataDirectory} relative to {@link volumesDir} (what a usage walk starts from). */
  dataDirectoryBelowVolumes(pv: string): string { return `${checked(pv)}/data`; }
  record(pv: string): string { return path.join(this.volumeDir(pv), 'volume.json'); }
  mountpoint(pv: string): string { return path.join(this.mountsDir, checked(pv)); }
  exportFile(pv: string): string { return path.join(this.exportsDir, `${checked(pv)}.conf`); }
  note(pv: string): string { return path.join(this.journalDir, `${checked(pv)}.json`); }
  /** `name` is a backend's archived name for the volume (it starts with the PV name). */
  archived(name: string): string { return path.join(this.archivedDir, path.basename(name)); }
}

/** True for a name the layout accepts (a PV name). */
export function isVolumeName(name: string): boolean {
  return PV_NAME.test(name);
}

function checked(pv: string): string {
  if (!isVolumeName(pv)) throw new Error(`${JSON.stringify(pv)} is not a PersistentVolume name`);
  return pv;
}

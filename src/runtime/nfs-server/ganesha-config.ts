/**
 * The text of ganesha's configuration: the main file (rewritten at every start) and one
 * EXPORT block per volume, in `<data>/exports.d`, which the main file includes with `%dir`
 * so exports survive a restart or a SIGHUP. `%dir` parses every regular file in it
 * (temporary ones too), so export files are written elsewhere and renamed in.
 */
import type { VolumeRecord } from './volume-record';
import { NFS_PORT } from '../../contract/controller-config';

export interface GaneshaSettings {
  /** `<data>/exports.d`. */
  readonly exportsDir: string;
  /** `<data>/ganesha/recovery`: NFSv4 client records, so clients can reclaim after a restart. */
  readonly recoveryDir: string;
  /** NFSv4 lease, seconds: how long a silent client keeps its state. */
  readonly leaseSeconds: number;
  /** Grace after a start, seconds: only reclaims while it lasts (ends early once every known client reclaimed). */
  readonly graceSeconds: number;
  readonly port?: number;
}

/**
 * Lease and grace shorter than ganesha's 60 s / 90 s defaults: a restarted server refuses
 * new opens for the grace, and a grace must outlast a lease so every client had its chance
 * to notice the restart and reclaim.
 */
export const DEFAULT_LEASE_SECONDS = 15;
export const DEFAULT_GRACE_SECONDS = 20;

export function mainConfig(s: GaneshaSettings): string {
  return `# Written by cdk8s-storage-controller nfs-server at every start; edits are lost.
NFS_CORE_PARAM {
    Protocols = 4;
    NFS_Port = ${s.port ?? NFS_PORT};
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
}
NFSV4 {
    RecoveryRoot = ${s.recoveryDir};
    Lease_Lifetime = ${s.leaseSeconds};
    Grace_Period = ${s.graceSeconds};
    Only_Numeric_Owners = true;
}
NFS_KRB5 {
    Active_krb5 = false;
}
LOG {
    Default_Log_Level = EVENT;
}
%dir ${s.exportsDir}
`;
}

/** The pseudo path a volume is served at (the PV's `nfs.path`). */
export function pseudoPathOf(pv: string): string {
  return `/${pv}`;
}

/** One volume's EXPORT block. */
export function exportBlock(record: VolumeRecord, mountpoint: string): string {
  return `EXPORT {
    Export_Id = ${record.exportId};
    Path = ${mountpoint};
    Pseudo = ${pseudoPathOf(record.pv)};
    Filesystem_id = ${record.filesystemId};
    Access_Type = RW;
    Squash = No_Root_Squash;
    SecType = sys;
    Protocols = 4;
    FSAL {
        Name = VFS;
    }
}
`;
}

/** The selector AddExport takes for a volume's file. */
export function exportSelector(exportId: number): string {
  return `EXPORT(Export_Id=${exportId})`;
}

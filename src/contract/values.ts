/**
 * The value lists and defaults both halves read: the constructs write these into
 * StorageClass parameters and the class map, the controller accepts exactly these. The
 * jsii enums of the constructs (OnDelete, BlockCleanerMethod) cannot be computed from a
 * list, so a unit test holds them equal to the lists here.
 */

/** What happens to an NFS volume's directory when its PV is deleted (class parameter and PV annotation). */
export const ON_DELETE_VALUES = ['DELETE', 'RETAIN', 'ARCHIVE'] as const;
export type OnDeleteValue = typeof ON_DELETE_VALUES[number];

/** onDelete when a class sets none: nothing is lost. */
export const DEFAULT_ON_DELETE: OnDeleteValue = 'ARCHIVE';

/** Mode of a new NFS volume directory when a class sets none: writable by any pod UID, as NFS subdir provisioners do. */
export const DEFAULT_DIRECTORY_MODE = 0o777;

/**
 * How the in-cluster NFS server enforces a volume's size (`--quota`): `loop-image` (one XFS
 * image file per volume, loop-mounted: a hard limit that grows online), `xfs-project` (an
 * XFS project quota per volume on a backing XFS mounted with prjquota) or `none` (plain
 * directories, the size recorded but not enforced).
 */
export const QUOTA_MODES = ['loop-image', 'xfs-project', 'none'] as const;
export type QuotaMode = typeof QUOTA_MODES[number];

/** --quota when none is given: the mode that enforces a size on any backing filesystem. */
export const DEFAULT_QUOTA_MODE: QuotaMode = 'loop-image';

/** How a local block volume is wiped before it is published again. */
export const BLOCK_CLEANER_KINDS = ['QUICK_RESET', 'SHRED', 'ZERO', 'BLKDISCARD'] as const;
export type BlockCleanerKind = typeof BLOCK_CLEANER_KINDS[number];

/** Passes of the cleaners that take them, when the class map names none. */
export const DEFAULT_CLEANER_PASSES: Readonly<Record<'SHRED' | 'ZERO', number>> = { SHRED: 3, ZERO: 1 };

/** How much the controller logs: lines below the level are dropped (the `--log-level` flag). */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevelValue = typeof LOG_LEVELS[number];

/** The log level when none is given. */
export const DEFAULT_LOG_LEVEL: LogLevelValue = 'info';

/**
 * Reads an NFS StorageClass's `parameters`. Unknown keys are an error rather than silently
 * ignored: a typo such as `ondelete` would otherwise change what happens to data.
 */
import { NFS_CLASS_PARAMETERS } from '../../contract/keys';
import { DEFAULT_PATH_PATTERN, validatePathPattern } from '../../contract/path-template';
import { parseQuantity } from '../../contract/quantity';
import { DEFAULT_DIRECTORY_MODE, DEFAULT_ON_DELETE, ON_DELETE_VALUES, OnDeleteValue } from '../../contract/values';

export interface NfsClassParameters {
  readonly pathPattern: string;
  readonly onDelete: OnDeleteValue;
  readonly directoryMode: number;
  /** Largest request allowed, in bytes. */
  readonly maxVolumeSize?: bigint;
}

export type ParametersResult = { readonly ok: true; readonly value: NfsClassParameters } | { readonly ok: false; readonly reason: string };

const KNOWN = Object.values(NFS_CLASS_PARAMETERS) as string[];

export function parseClassParameters(className: string, parameters: Readonly<Record<string, string>> | undefined): ParametersResult {
  const params = parameters ?? {};
  const where = `StorageClass "${className}"`;
  for (const key of Object.keys(params)) {
    if (!KNOWN.includes(key)) {
      return { ok: false, reason: `${where} has the unknown parameter "${key}"; known parameters are ${KNOWN.join(', ')}: fix the StorageClass` };
    }
  }

  const pathPattern = params[NFS_CLASS_PARAMETERS.pathPattern] ?? DEFAULT_PATH_PATTERN;
  const patternErrors = validatePathPattern(pathPattern);
  if (patternErrors.length > 0) {
    return { ok: false, reason: `${where}: ${patternErrors.join('; ')}` };
  }

  const onDeleteText = params[NFS_CLASS_PARAMETERS.onDelete];
  const onDelete = onDeleteText === undefined ? DEFAULT_ON_DELETE : onDeleteText.toUpperCase();
  if (!(ON_DELETE_VALUES as readonly string[]).includes(onDelete)) {
    return { ok: false, reason: `${where} has onDelete "${onDeleteText}"; use one of ${ON_DELETE_VALUES.join(', ')}` };
  }

  const modeText = params[NFS_CLASS_PARAMETERS.directoryMode];
  let directoryMode = DEFAULT_DIRECTORY_MODE;
  if (modeText !== undefined) {
    const parsed = parseMode(modeText);
    if (parsed === undefined) {
      return { ok: false, reason: `${where} has directoryMode "${modeText}"; use an octal mode such as 0775 or 2770` };
    }
    directoryMode = parsed;
  }

  const maxText = params[NFS_CLASS_PARAMETERS.maxVolumeSize];
  let maxVolumeSize: bigint | undefined;
  if (maxText !== undefined) {
    try {
      maxVolumeSize = parseQuantity(maxText);
    } catch (error) {
      return { ok: false, reason: `${where} has maxVolumeSize "${maxText}": ${(error as Error).message}` };
    }
  }

  return { ok: true, value: { pathPattern, onDelete: onDelete as OnDeleteValue, directoryMode, maxVolumeSize } };
}

/** `0775`, `775`, `2770`, `0o775` -> number; anything else (or above 07777) -> undefined. */
export function parseMode(text: string): number | undefined {
  const m = /^(?:0o?)?([0-7]{3,4})$/.exec(text);
  return m ? parseInt(m[1], 8) : undefined;
}

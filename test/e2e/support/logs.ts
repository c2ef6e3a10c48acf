/**
 * Reading the controllers' JSON logs: entries for assertions, and the scan for
 * HTTP 403 that turns any missing RBAC permission into a test failure.
 */
import * as fs from 'fs';

/** One JSON log line, with where it came from. */
export interface LogEntry {
  readonly time?: string;
  readonly level?: string;
  readonly msg?: string;
  readonly [field: string]: unknown;
}

export interface LogLine {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  /** Parsed JSON, or undefined for other output (stderr text, harness markers). */
  readonly entry?: LogEntry;
}

/** Every line of a log file from byte `offset` on. */
export function readLogLines(file: string, offset = 0): LogLine[] {
  let text: string;
  try {
    const buffer = fs.readFileSync(file);
    text = buffer.subarray(offset).toString('utf8');
  } catch {
    return [];
  }
  return parseLogLines(text, file);
}

/** The lines of a log text (e.g. `kubectl logs` output); `source` names where it came from. */
export function parseLogLines(text: string, source: string): LogLine[] {
  const lines: LogLine[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') {
      return;
    }
    let entry: LogEntry | undefined;
    if (raw.startsWith('{')) {
      try {
        entry = JSON.parse(raw);
      } catch {
        entry = undefined;
      }
    }
    lines.push({ file: source, line: i + 1, text: raw, entry });
  });
  return lines;
}

/** True when a value (a log field, nested) is an HTTP 403 status. */
function has403(value: unknown, depth = 0): boolean {
  if (depth > 5 || value === null || typeof value !== 'object') {
    return false;
  }
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if ((key === 'status' || key === 'code' || key === 'statusCode') && (v === 403 || v === '403')) {
      return true;
    }
    if (has403(v, depth + 1)) {
      return true;
    }
  }
  return false;
}

/**
 * 403s (or "forbidden" wording) a test expects, which are not a missing
 * permission: a kube-apiserver that has just started refuses requests until
 * its RBAC authorizer has loaded the roles (a time span), or an admission
 * policy the test installed words its refusal "is forbidden" (a pattern). A
 * line is excused when it falls in the span and matches the pattern (each
 * only when given).
 */
export interface ForbiddenWindow {
  /** Epoch ms. */
  readonly from?: number;
  readonly to?: number;
  /** Only lines whose text matches. */
  readonly matching?: RegExp;
  readonly because: string;
}

function inWindow(line: LogLine, windows: readonly ForbiddenWindow[]): boolean {
  const t = Date.parse(String(line.entry?.time ?? ''));
  return windows.some((w) => {
    if (w.from === undefined && w.to === undefined && w.matching === undefined) return false;
    if ((w.from !== undefined || w.to !== undefined) && Number.isNaN(t)) return false;
    if (w.from !== undefined && t < w.from) return false;
    if (w.to !== undefined && t > w.to) return false;
    return w.matching === undefined || w.matching.test(line.text);
  });
}

/**
 * Lines that show a request the API server refused with 403 Forbidden: a 403
 * status in any field, or the API's "forbidden" wording anywhere in the line
 * (client errors flatten to their message). Non-JSON lines count too. Lines
 * logged inside one of `windows` are left out.
 */
export function forbiddenLines(lines: readonly LogLine[], windows: readonly ForbiddenWindow[] = []): LogLine[] {
  return lines.filter((l) => (/forbidden/i.test(l.text) || (l.entry !== undefined && has403(l.entry))) && !inWindow(l, windows));
}

/** Throws listing every 403 line, so a missing permission fails the test that hit it. */
export function assertNoForbidden(lines: readonly LogLine[], what = 'controller log', windows: readonly ForbiddenWindow[] = []): void {
  const bad = forbiddenLines(lines, windows);
  if (bad.length > 0) {
    const shown = bad.slice(0, 10).map((l) => `  ${l.file}:${l.line}: ${l.text.slice(0, 600)}`).join('\n');
    throw new Error(`${bad.length} request(s) refused with 403 Forbidden in the ${what} (a permission missing from the synthesized RBAC?):\n${shown}`);
  }
}

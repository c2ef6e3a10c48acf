/**
 * One shape for every construct validation error: where, which prop, the bad value, and
 * what to do instead. A person reading a failed `cdk8s synth` should not need the source.
 */

/**
 * Builds the error for a bad prop.
 *
 * @param where the construct path (`node.path`) or class name
 * @param prop the prop as the user wrote it (`server.host`, `autoGrow.max`)
 * @param value the value given (quoted as JSON in the message)
 * @param problem what is wrong with it (`is not a DNS label`)
 * @param fix what to do instead (`use lowercase letters, digits and '-'`)
 */
export function propError(where: string, prop: string, value: unknown, problem: string, fix: string): Error {
  return new Error(`${where}: ${prop} ${show(value)} ${problem}: ${fix}`);
}

function show(value: unknown): string {
  if (value === undefined) return '(not set)';
  let text: string;
  try {
    text = typeof value === 'bigint' ? value.toString() : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 120 ? `${text.slice(0, 120)}...` : text;
}

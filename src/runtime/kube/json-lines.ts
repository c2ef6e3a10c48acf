/**
 * Splits a watch response body into its lines. The API server sends one JSON event per
 * line, but the network cuts the body into chunks wherever it likes: an event can span many
 * chunks, a chunk can hold many events, and a cut can fall inside a multi-byte UTF-8
 * character. Bytes are kept until their line is complete and only whole lines are decoded,
 * so no character is ever split.
 */

/** Longest line accepted: far above any real object (etcd refuses objects over 1.5 MiB). */
export const MAX_LINE_BYTES = 16 * 2 ** 20;

export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  /** Takes one chunk; returns the lines it completed (without their newline, empty lines dropped). */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
      this.pending.push(chunk.subarray(start, end));
      const line = this.take();
      if (line.trim()) lines.push(line);
      start = end + 1;
    }
    if (start < chunk.length) {
      this.pending.push(chunk.subarray(start));
      this.pendingBytes += chunk.length - start;
      if (this.pendingBytes > MAX_LINE_BYTES) {
        throw new Error(`a watch event line is longer than ${MAX_LINE_BYTES} bytes: the stream is not line-delimited JSON`);
      }
    }
    return lines;
  }

  /** The unterminated rest once the body has ended ('' if none). */
  end(): string {
    return this.take().trim();
  }

  private take(): string {
    const text = this.pending.length === 1 ? this.pending[0].toString('utf8') : Buffer.concat(this.pending).toString('utf8');
    this.pending = [];
    this.pendingBytes = 0;
    return text;
  }
}

/** Markers written to and looked for on block devices, to tell a wiped device from one left alone (unit and e2e tests). */
import * as fs from 'fs';

/** True if the buffer contains the ASCII marker. */
export function contains(buf: Buffer, marker: string): boolean {
  return buf.indexOf(Buffer.from(marker)) >= 0;
}

/** Writes `marker` into a block device at `offset` (and syncs it). */
export function writeMarker(dev: string, marker: string, offset: number): void {
  const fd = fs.openSync(dev, 'r+');
  try {
    fs.writeSync(fd, Buffer.from(marker), 0, marker.length, offset);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export function readDevice(dev: string): Buffer {
  return fs.readFileSync(dev);
}

/**
 * Running a program (mkfs, mount, wipefs, dbus-send, ...) the way every command of the
 * runtime does: no shell, the output as a string, and a failure message a person can act on.
 */
import { execFile } from 'child_process';

/** Runs a program, resolving with its output or rejecting with a message that includes stderr. */
export type CommandRunner = (file: string, args: string[]) => Promise<string>;

export const runCommand: CommandRunner = (file, args) => new Promise((resolve, reject) => {
  execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
    if (!err) return resolve(`${stdout}${stderr}`.trim());
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found in the image' : `${err.message.split('\n')[0]} ${stderr.trim()}`;
    reject(new Error(`${file} ${args.join(' ')}: ${why}`));
  });
});

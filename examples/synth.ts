/**
 * Synthesizes every example app: each `examples/<name>/main.ts` exports
 * `synth(outdir: string): void`, which builds a cdk8s App writing to `outdir` and
 * synthesizes it. Output goes to `dist/examples/<name>/`.
 *
 *   npx projen synth:examples
 */
import * as fs from 'fs';
import * as path from 'path';

/** One example app. */
export interface Example {
  /** The directory name under examples/. */
  readonly name: string;
  /** Path of its main.ts. */
  readonly main: string;
  /** Builds the app with this outdir and synthesizes it. */
  synth(outdir: string): void;
}

/** Every `<examplesDir>/<name>/main.ts`, in name order. */
export function findExamples(examplesDir: string = __dirname): Example[] {
  return fs.readdirSync(examplesDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && fs.existsSync(path.join(examplesDir, entry.name, 'main.ts')))
    .map((entry) => entry.name)
    .sort()
    .map((name) => {
      const main = path.join(examplesDir, name, 'main.ts');
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(main);
      if (typeof mod.synth !== 'function') {
        throw new Error(`${path.relative(process.cwd(), main)} must export function synth(outdir: string): void`);
      }
      return { name, main, synth: (outdir: string) => mod.synth(outdir) };
    });
}

/** Synthesizes one example into a fresh `outdir`; returns the files written, sorted. */
export function synthExample(example: Example, outdir: string): string[] {
  // Start empty so that files of a renamed chart do not linger next to the new ones.
  fs.rmSync(outdir, { recursive: true, force: true });
  fs.mkdirSync(outdir, { recursive: true });
  example.synth(outdir);
  const files = fs.readdirSync(outdir).sort().map((f) => path.join(outdir, f));
  if (files.length === 0) throw new Error(`example ${example.name} wrote no files to ${outdir}`);
  return files;
}

function main(): void {
  const root = path.resolve(__dirname, '..');
  const examples = findExamples();
  if (examples.length === 0) throw new Error(`no examples/*/main.ts found under ${__dirname}`);
  for (const example of examples) {
    const files = synthExample(example, path.join(root, 'dist', 'examples', example.name));
    console.log(`${example.name}: ${files.map((f) => path.relative(root, f)).join(' ')}`);
  }
}

if (require.main === module) {
  main();
}

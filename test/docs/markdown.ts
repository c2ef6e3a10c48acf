/** The parts of the project's Markdown that the docs tests check: code and links. */
import * as fs from 'fs';
import * as path from 'path';

export const rootDir = path.resolve(__dirname, '..', '..');

/** README.md and every docs/*.md, as paths relative to the repository root. */
export function userDocs(): string[] {
  const docs = fs.readdirSync(path.join(rootDir, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`);
  return ['README.md', ...docs];
}

export interface CodeSnippet {
  /** `file:line` where it starts. */
  readonly where: string;
  readonly code: string;
  /** The fence's language (`ts`, `sh`, ...); `inline` for a code span. */
  readonly lang: string;
}

const FENCE = /^```([\w-]*)[^\n]*\n([\s\S]*?)^```/gm;

function lineOf(text: string, index: number): number {
  return text.slice(0, index).split('\n').length;
}

/** Fenced blocks and inline code spans of one file. */
export function codeIn(file: string): CodeSnippet[] {
  const text = fs.readFileSync(path.join(rootDir, file), 'utf8');
  const snippets: CodeSnippet[] = [];
  for (const m of text.matchAll(FENCE)) {
    snippets.push({ where: `${file}:${lineOf(text, m.index!)}`, code: m[2], lang: m[1] || 'text' });
  }
  const prose = text.replace(FENCE, (block) => block.replace(/[^\n]/g, ' '));
  for (const m of prose.matchAll(/`([^`\n]+)`/g)) {
    snippets.push({ where: `${file}:${lineOf(prose, m.index!)}`, code: m[1], lang: 'inline' });
  }
  return snippets;
}

/** Link targets (`[text](target)`) of one file outside code, with where they are. */
export function linksIn(file: string): { where: string; target: string }[] {
  const text = fs.readFileSync(path.join(rootDir, file), 'utf8');
  const prose = text.replace(FENCE, (block) => block.replace(/[^\n]/g, ' ')).replace(/`[^`\n]+`/g, (span) => span.replace(/./g, ' '));
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => ({ where: `${file}:${lineOf(prose, m.index!)}`, target: m[1] }));
}

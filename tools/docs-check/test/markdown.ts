import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const repositoryRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The repository's docs/ folder. */
export const docsDirectory = join(repositoryRoot, 'docs/');

/** One fenced code block of a guide. */
export interface CodeBlock {
  /** Guide file name, e.g. `sending.md`, or a README's path from docs/, e.g. `../packages/core/README.md`. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  /** The fence's language tag (`ts`, `python`, …). */
  language: string;
  /** The code between the fences. */
  code: string;
  /** Text of an `<!-- prelude: … -->` comment right above the block: hidden context for the compiler. */
  prelude: string;
}

/** Every fenced block of one markdown file, in order. */
export function codeBlocks(file: string, text = readFileSync(resolve(docsDirectory, file), 'utf8')): CodeBlock[] {
  const lines = text.split('\n');
  const blocks: CodeBlock[] = [];
  for (let index = 0; index < lines.length; index++) {
    const open = /^(\s*)(`{3,})(\S*)\s*$/.exec(lines[index] ?? '');
    if (!open) continue;
    const [, indent = '', fence = '```', language = ''] = open;
    const body: string[] = [];
    let end = index + 1;
    while (end < lines.length && !(lines[end] ?? '').startsWith(`${indent}${fence}`)) {
      body.push((lines[end] ?? '').slice(indent.length));
      end++;
    }
    // A prelude comment may sit on the line(s) just above the fence (blank lines allowed between).
    let previous = index - 1;
    while (previous >= 0 && (lines[previous] ?? '').trim() === '') previous--;
    let prelude = '';
    if (previous >= 0 && (lines[previous] ?? '').trim().endsWith('-->')) {
      let start = previous;
      while (start > 0 && !(lines[start] ?? '').includes('<!--')) start--;
      const comment = lines.slice(start, previous + 1).join('\n');
      const match = /<!--\s*prelude:([\s\S]*?)-->/.exec(comment);
      if (match) prelude = (match[1] ?? '').trim();
    }
    blocks.push({ file, line: index + 1, language, code: body.join('\n'), prelude });
    index = end;
  }
  return blocks;
}

/** Every guide in docs/ (not the generated API site). */
export function guides(): string[] {
  return readdirSync(docsDirectory)
    .filter((name) => name.endsWith('.md'))
    .sort();
}

/** The READMEs users read first (the repository's and each package's), as paths from docs/. */
export function readmes(): string[] {
  const packages = readdirSync(join(repositoryRoot, 'packages'))
    .filter((name) => existsSync(join(repositoryRoot, 'packages', name, 'README.md')))
    .sort()
    .map((name) => `../packages/${name}/README.md`);
  return ['../README.md', ...packages];
}

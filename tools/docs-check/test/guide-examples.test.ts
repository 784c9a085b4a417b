import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { codeBlocks, guides } from './markdown';

// The examples that are themselves tests (their prelude imports from 'vitest', as in
// docs/testing.md) run here against the workspace sources, with the snippet fixtures as their
// `./events.js`: what a reader copies into their own suite passes. Their `describe` and `it`
// calls register in this file when it imports them.
const folder = fileURLToPath(new URL('../.guide-examples/', import.meta.url));
const fixtures = fileURLToPath(new URL('../snippet-fixtures/', import.meta.url));

const examples = guides().flatMap((guide) =>
  codeBlocks(guide)
    .filter((block) => (block.language === 'ts' || block.language === 'typescript') && /from 'vitest'/.test(block.prelude))
    .map((block) => ({ ...block, path: join(folder, `${guide.replace(/\.md$/, '')}-${block.line}.test-example.ts`) })),
);

rmSync(folder, { recursive: true, force: true });
mkdirSync(folder, { recursive: true });
cpSync(fixtures, folder, { recursive: true });
for (const example of examples) {
  writeFileSync(example.path, `// ${example.file}:${example.line}\n${example.prelude}\n${example.code}\n`);
  await import(pathToFileURL(example.path).href);
}

it('runs the test examples of the guides', () => {
  expect(examples.map((example) => `${example.file}:${example.line}`)).toEqual(expect.arrayContaining([expect.stringMatching(/^testing\.md:/)]));
  expect(examples.length).toBeGreaterThanOrEqual(2);
});

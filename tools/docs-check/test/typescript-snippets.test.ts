import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compileSnippets, fileStem } from './compile-snippets';
import { type CodeBlock, codeBlocks, guides, readmes } from './markdown';

// Every TypeScript block of every guide and README is compiled as its own ES module, the way a
// user's project compiles it: `module`/`moduleResolution: NodeNext`, strict. Hidden context a
// snippet needs (a `declare const rawBody: string`, say) goes in an `<!-- prelude: … -->` comment
// above the block. Relative imports resolve to the fixtures in ../snippet-fixtures
// (`./events.js`, `./sender.js`), and so does the `@/*` alias of Next.js apps (`@/lib/webhooks`).
// Workspace packages resolve to their built declarations, as they do for users (turbo builds
// them before this package's tests). The `@example` blocks of the packages' TSDoc are compiled
// the same way by tsdoc-examples.test.ts.
const root = fileURLToPath(new URL('../.snippets/', import.meta.url));
const TYPESCRIPT = new Set(['ts', 'typescript', 'tsx']);

const snippets: Array<CodeBlock & { path: string }> = [...guides(), ...readmes()].flatMap((file) =>
  codeBlocks(file)
    .filter((block) => TYPESCRIPT.has(block.language))
    .map((block) => ({ ...block, path: join(root, `${fileStem(file)}-${block.line}.${block.language === 'tsx' ? 'tsx' : 'ts'}`) })),
);

function compile(): Map<string, string[]> {
  return compileSnippets(
    root,
    snippets.map((snippet) => ({ path: snippet.path, source: `${snippet.prelude}\n${snippet.code}` })),
  );
}

describe('TypeScript snippets in docs/*.md compile under NodeNext', () => {
  const errors = compile();

  it('finds the snippets, in the guides and in the READMEs', () => {
    expect(snippets.length).toBeGreaterThan(20);
    expect(snippets.some((snippet) => snippet.file === '../README.md')).toBe(true);
    expect(snippets.some((snippet) => snippet.file === '../packages/sender/README.md')).toBe(true);
  });

  it('reports no error outside the snippets themselves (fixtures, workspace sources)', () => {
    const elsewhere = [...errors.entries()].filter(([file]) => !snippets.some((snippet) => snippet.path === file));
    expect(elsewhere).toEqual([]);
  });

  it.each(snippets.map((snippet) => [`${snippet.file}:${snippet.line}`, snippet] as const))('%s', (_name, snippet) => {
    expect(errors.get(snippet.path) ?? []).toEqual([]);
  });
});

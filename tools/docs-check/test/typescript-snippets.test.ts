import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { type CodeBlock, codeBlocks, guides, readmes } from './markdown';

// Every TypeScript block of every guide and README is compiled as its own ES module, the way a
// user's project compiles it: `module`/`moduleResolution: NodeNext`, strict. Hidden context a
// snippet needs (a `declare const rawBody: string`, say) goes in an `<!-- prelude: … -->` comment
// above the block. Relative imports resolve to the fixtures in ../snippet-fixtures
// (`./events.js`, `./sender.js`), and so does the `@/*` alias of Next.js apps (`@/lib/webhooks`).
// Workspace packages resolve to their built declarations, as they do for users (turbo builds
// them before this package's tests).
const root = fileURLToPath(new URL('../.snippets/', import.meta.url));
const fixtures = fileURLToPath(new URL('../snippet-fixtures/', import.meta.url));
const TYPESCRIPT = new Set(['ts', 'typescript', 'tsx']);

/** `sending.md` → `sending`, `../packages/core/README.md` → `packages-core-README`: a file name inside the fixtures folder. */
const fileStem = (file: string): string => file.replace(/\.md$/, '').replace(/^[./]+/, '').replace(/[^A-Za-z0-9]+/g, '-');

const snippets: Array<CodeBlock & { path: string }> = [...guides(), ...readmes()].flatMap((file) =>
  codeBlocks(file)
    .filter((block) => TYPESCRIPT.has(block.language))
    .map((block) => ({ ...block, path: join(root, `${fileStem(file)}-${block.line}.${block.language === 'tsx' ? 'tsx' : 'ts'}`) })),
);

function compile(): Map<string, string[]> {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  cpSync(fixtures, root, { recursive: true });
  writeFileSync(join(root, 'package.json'), '{ "type": "module", "private": true }\n');
  for (const snippet of snippets) {
    // `export {}` keeps every snippet a module, so top-level names never collide across files.
    writeFileSync(snippet.path, `${snippet.prelude}\n${snippet.code}\nexport {};\n`);
  }
  const program = ts.createProgram(
    snippets.map((snippet) => snippet.path),
    {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      esModuleInterop: true,
      jsx: ts.JsxEmit.ReactJSX,
      types: ['node'],
      // Next.js apps import their own modules as `@/lib/…`.
      paths: { '@/*': [`${root}*`, `${root}*.ts`] },
      typeRoots: [fileURLToPath(new URL('../node_modules/@types/', import.meta.url)), fileURLToPath(new URL('../../../node_modules/@types/', import.meta.url))],
    },
  );
  const errors = new Map<string, string[]>();
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const file = diagnostic.file?.fileName ?? '';
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const where = diagnostic.file && diagnostic.start !== undefined ? diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line + 1 : 0;
    const list = errors.get(file) ?? [];
    list.push(`line ${where}: ${text}`);
    errors.set(file, list);
  }
  return errors;
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

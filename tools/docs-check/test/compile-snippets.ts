import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** One snippet to compile: where it is written and what it holds (its hidden prelude included). */
export interface SnippetFile {
  /** Absolute path inside the snippets folder, ending in `.ts` or `.tsx`. */
  path: string;
  /** The module's text. */
  source: string;
}

const fixtures = fileURLToPath(new URL('../snippet-fixtures/', import.meta.url));

/** A file name inside a snippets folder from any label: `sending.md` → `sending`, `../packages/core/README.md` → `packages-core-README`. */
export const fileStem = (label: string): string =>
  label
    .replace(/\.(md|ts)$/, '')
    .replace(/^[./]+/, '')
    .replace(/[^A-Za-z0-9]+/g, '-');

/**
 * Compiles snippets the way a user's project compiles them: each its own ES module, with
 * `module`/`moduleResolution: NodeNext`, strict. `folder` is emptied and given the fixtures of
 * ../snippet-fixtures, so relative imports (`./events.js`, `./sender.js`) and the `@/*` alias of
 * Next.js apps (`@/lib/webhooks`) resolve to them. Workspace packages resolve to their built
 * declarations, as they do for users. Returns the errors by file.
 */
export function compileSnippets(folder: string, snippets: readonly SnippetFile[]): Map<string, string[]> {
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });
  cpSync(fixtures, folder, { recursive: true });
  writeFileSync(join(folder, 'package.json'), '{ "type": "module", "private": true }\n');
  for (const snippet of snippets) {
    // `export {}` keeps every snippet a module, so top-level names never collide across files.
    writeFileSync(snippet.path, `${snippet.source}\nexport {};\n`);
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
      paths: { '@/*': [`${folder}*`, `${folder}*.ts`] },
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

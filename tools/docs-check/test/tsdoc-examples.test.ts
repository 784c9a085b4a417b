import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { compileSnippets, fileStem } from './compile-snippets';
import { codeBlocks, repositoryRoot } from './markdown';

// The `@example` blocks of the packages' TSDoc, which the API site shows under "Example", are
// compiled like the guides' snippets (compile-snippets.ts): each its own ES module under NodeNext,
// strict, against the built declarations, with ../snippet-fixtures as `./events.js`. Hidden
// context goes in an `<!-- prelude: … -->` comment inside the tag, right above the code fence
// (TypeDoc keeps it an HTML comment, so the page does not show it):
//
//   * @example
//   * <!-- prelude: declare const rawBody: Buffer; -->
//   * ```ts
//   * const webhook = await verify(rawBody, headers, { secrets });
//   * ```
//
// The main functions of every package must have one, with every parameter and the result
// documented; the built site (`pnpm run docs`) must show them.

const packagesDirectory = join(repositoryRoot, 'packages');
const folder = fileURLToPath(new URL('../.tsdoc-snippets/', import.meta.url));
const TYPESCRIPT = new Set(['ts', 'typescript', 'tsx']);

/** The main functions, by package: each (every overload) has an `@example`, `@param` for each parameter and `@returns`. */
const MAIN_FUNCTIONS: Record<string, readonly string[]> = {
  core: [
    'verify',
    'sign',
    'signHeaders',
    'createReceiver',
    'createEnvelope',
    'serializeEnvelope',
    'createRedisIdempotencyStore',
    'createMemoryIdempotencyStore',
    'defineEvents',
    'describeCatalog',
    'eventJsonSchema',
    'generateSecret',
    'generateKeyPair',
    'parseKey',
    'maskSecret',
    'publicKeyOf',
    'createConsoleLogger',
    'createMessageId',
  ],
  express: ['webhooks', 'jsonParser', 'rawBodySaver'],
  fastify: ['webhooks'],
  koa: ['webhooks'],
  next: ['webhookHandler', 'pagesWebhookHandler'],
  hono: ['webhooks'],
  portal: ['defineHooksPortal', 'tokenFromUrl'],
  sender: [
    'createSender',
    'createMemoryStorage',
    'createSqliteStorage',
    'createPostgresStorage',
    'createAdminHandler',
    'toNodeListener',
    'createTransport',
    'generateEncryptionKey',
    'formatPrometheus',
    'assertEndpointUrl',
    'isBlockedAddress',
  ],
  // @hooks/cli has no programmatic API (its package exports only the `hooks` binary).
};

/** One `@example` code block of a TSDoc comment. */
interface TsdocExample {
  /** Source file, from the repository root. */
  file: string;
  /** 1-based line of the opening fence in the source file. */
  line: number;
  /** The declaration the comment documents. */
  name: string;
  /** The fence's language tag. */
  language: string;
  /** The code, without the comment's leading `*`. */
  code: string;
  /** Text of the `<!-- prelude: … -->` comment above the fence. */
  prelude: string;
}

/** `.ts` and `.tsx` files under a folder, tests and declarations left out. */
function sourceFiles(directory: string): string[] {
  if (!existsSync(directory)) return [];
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) && !/\.(test|d)\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

const DECLARATION = /^\s*(?:export\s+)?(?:declare\s+)?(?:default\s+)?(?:async\s+)?(?:function\*?\s+|const\s+|let\s+|class\s+|interface\s+|type\s+)?([A-Za-z_$][\w$]*)/;

/**
 * Every `@example` section of every TSDoc comment of a file: from the tag to the next block tag
 * outside a code fence. Sections without a TypeScript fence are returned with `language: ''`, so
 * the test can refuse them (TypeDoc would render their text as code nobody compiles).
 */
export function tsdocExamples(path: string, text = readFileSync(path, 'utf8')): TsdocExample[] {
  const file = relative(repositoryRoot, path);
  const examples: TsdocExample[] = [];
  for (const match of text.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
    const commentLine = text.slice(0, match.index).split('\n').length;
    const name = DECLARATION.exec(text.slice((match.index ?? 0) + match[0].length))?.[1] ?? '(unknown)';
    const lines = (match[1] ?? '').split('\n').map((line) => line.replace(/^\s*\*? ?/, ''));
    let fenced = false;
    let section: { start: number; lines: string[] } | undefined;
    const sections: Array<{ start: number; lines: string[] }> = [];
    lines.forEach((line, index) => {
      if (!fenced && /^@\w+/.test(line)) {
        section = /^@example\b/.test(line) ? { start: index, lines: [] } : undefined;
        if (section) sections.push(section);
        return;
      }
      if (/^\s*`{3,}/.test(line)) fenced = !fenced;
      section?.lines.push(line);
    });
    for (const { start, lines: body } of sections) {
      const blocks = codeBlocks(file, body.join('\n')).filter((block) => TYPESCRIPT.has(block.language));
      if (blocks.length === 0) examples.push({ file, line: commentLine + start, name, language: '', code: body.join('\n'), prelude: '' });
      for (const block of blocks) {
        // +1: the section's text starts on the line after the tag.
        examples.push({ file, line: commentLine + start + block.line, name, language: block.language, code: block.code, prelude: block.prelude });
      }
    }
  }
  return examples;
}

const examples = readdirSync(packagesDirectory)
  .sort()
  .flatMap((name) => sourceFiles(join(packagesDirectory, name, 'src')))
  .flatMap((path) => tsdocExamples(path));

const snippets = examples
  .filter((example) => example.language !== '')
  .map((example) => ({ ...example, path: join(folder, `${fileStem(example.file)}-${example.line}.${example.language === 'tsx' ? 'tsx' : 'ts'}`) }));

/** A package's public entry points (the `dev-source` targets of its `exports`). */
function entryFiles(packageName: string): string[] {
  const manifest = JSON.parse(readFileSync(join(packagesDirectory, packageName, 'package.json'), 'utf8')) as { exports?: Record<string, unknown> };
  return Object.values(manifest.exports ?? {}).flatMap((target) => {
    const source = typeof target === 'object' && target !== null ? (target as Record<string, unknown>)['dev-source'] : undefined;
    return typeof source === 'string' ? [join(packagesDirectory, packageName, source)] : [];
  });
}

/** What one signature's TSDoc lacks: an `@example`, a `@param` per parameter, `@returns` (unless it returns `void`). */
function signatureProblems(declaration: ts.FunctionDeclaration, label: string): string[] {
  const tags = ts.getJSDocTags(declaration);
  const problems: string[] = [];
  if (!tags.some((tag) => tag.tagName.text === 'example')) problems.push(`${label}: no @example`);
  const documented = new Set(tags.filter(ts.isJSDocParameterTag).map((tag) => tag.name.getText()));
  for (const parameter of declaration.parameters) {
    const name = parameter.name.getText();
    if (!documented.has(name)) problems.push(`${label}: no @param ${name}`);
  }
  const returnsVoid = declaration.type?.kind === ts.SyntaxKind.VoidKeyword;
  if (!returnsVoid && !tags.some((tag) => tag.tagName.text === 'returns')) problems.push(`${label}: no @returns`);
  return problems;
}

/** What a main function's TSDoc lacks, per signature a user sees (each overload, or the one declaration). */
function missingDocs(packageName: string, functionName: string, checker: ts.TypeChecker, program: ts.Program): string[] {
  const [entry] = entryFiles(packageName);
  const source = entry ? program.getSourceFile(entry) : undefined;
  const moduleSymbol = source ? checker.getSymbolAtLocation(source) : undefined;
  if (!moduleSymbol) return [`${packageName}: no entry file`];
  const exported = checker.getExportsOfModule(moduleSymbol).find((symbol) => symbol.name === functionName);
  if (!exported) return [`${functionName} is not exported by @hooks/${packageName}`];
  const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
  const declarations = (symbol.declarations ?? []).filter(ts.isFunctionDeclaration);
  // With overloads, the site shows the overload signatures, not the implementation.
  const shown = declarations.length > 1 ? declarations.filter((declaration) => declaration.body === undefined) : declarations;
  if (shown.length === 0) return [`${functionName}: no function declaration`];
  return shown.flatMap((declaration, index) => signatureProblems(declaration, shown.length > 1 ? `${functionName} (overload ${index + 1})` : functionName));
}

describe('@example blocks of the TSDoc compile under NodeNext', () => {
  const errors = compileSnippets(
    folder,
    snippets.map((snippet) => ({ path: snippet.path, source: `${snippet.prelude}\n${snippet.code}` })),
  );

  it('finds the examples, in every documented package', () => {
    expect(snippets.length).toBeGreaterThan(30);
    for (const name of Object.keys(MAIN_FUNCTIONS)) expect(snippets.some((snippet) => snippet.file.startsWith(`packages/${name}/`)), name).toBe(true);
  });

  it('every @example holds a ```ts (or tsx) block, so what the site shows is compiled', () => {
    expect(examples.filter((example) => example.language === '').map((example) => `${example.file}:${example.line} (${example.name})`)).toEqual([]);
  });

  it('reports no error outside the examples themselves (fixtures, workspace declarations)', () => {
    const elsewhere = [...errors.entries()].filter(([file]) => !snippets.some((snippet) => snippet.path === file));
    expect(elsewhere).toEqual([]);
  });

  it.each(snippets.map((snippet) => [`${snippet.file}:${snippet.line} ${snippet.name}`, snippet] as const))('%s', (_name, snippet) => {
    expect(errors.get(snippet.path) ?? []).toEqual([]);
  });
});

describe('the main functions document their parameters, result and an example', () => {
  const program = ts.createProgram(
    Object.keys(MAIN_FUNCTIONS).flatMap(entryFiles),
    // Only read for declarations and their comments; nothing is type-checked here.
    { module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, customConditions: ['dev-source'], noEmit: true, skipLibCheck: true, jsx: ts.JsxEmit.ReactJSX },
  );
  const checker = program.getTypeChecker();

  it.each(Object.entries(MAIN_FUNCTIONS).flatMap(([packageName, names]) => names.map((name) => [`@hooks/${packageName} ${name}`, packageName, name] as const)))(
    '%s',
    (_label, packageName, name) => {
      expect(missingDocs(packageName, name, checker, program)).toEqual([]);
    },
  );

  it('catches what is missing: an @example, a @param, the @returns', () => {
    const text = '/**\n * Adds.\n * @param left - The first.\n */\nexport function add(left: number, right: number): number { return left + right; }\n';
    const [declaration] = ts.createSourceFile('add.ts', text, ts.ScriptTarget.ES2022, true).statements.filter(ts.isFunctionDeclaration);
    expect(signatureProblems(declaration!, 'add')).toEqual(['add: no @example', 'add: no @param right', 'add: no @returns']);
    expect(tsdocExamples(join(repositoryRoot, 'add.ts'), text)).toEqual([]);
  });

  it('finds an example with its hidden prelude and its line; a tag without a fence is reported', () => {
    const text = '/**\n * Adds.\n * @example\n * <!-- prelude: declare const x: number; -->\n * ```ts\n * add(x, 1);\n * ```\n * @example\n * add(1, 2)\n * @param left - A.\n */\nexport function add() {}\n';
    expect(tsdocExamples(join(repositoryRoot, 'add.ts'), text)).toEqual([
      { file: 'add.ts', line: 5, name: 'add', language: 'ts', code: 'add(x, 1);', prelude: 'declare const x: number;' },
      { file: 'add.ts', line: 8, name: 'add', language: '', code: 'add(1, 2)', prelude: '' },
    ]);
  });
});

describe('the API site shows the examples', () => {
  const site = join(repositoryRoot, 'docs', 'api');
  const decode = (html: string): string =>
    html
      .replace(/<[^>]+>/g, '')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&amp;/g, '&')
      .replace(/\s+/g, '');

  it.each(Object.entries(MAIN_FUNCTIONS).flatMap(([packageName, names]) => names.map((name) => [`@hooks/${packageName} ${name}`, packageName, name] as const)))(
    '%s',
    (_label, packageName, name) => {
      const page = join(site, 'functions', `_hooks_${packageName}.${name}.html`);
      expect(existsSync(page), `${page} is missing: run \`pnpm run docs\``).toBe(true);
      const html = readFileSync(page, 'utf8');
      expect(html).toContain('class="tsd-tag-example"');
      expect(html).not.toMatch(/<p>[^<]*prelude:/);
      // Each example's code (first and last line) is on the page, highlighted as code.
      for (const example of snippets.filter((snippet) => snippet.file.startsWith(`packages/${packageName}/`) && snippet.name === name)) {
        const lines = example.code.split('\n').filter((line) => line.trim() !== '');
        const text = decode(html);
        expect(text, `${example.file}:${example.line} is not on ${page}: run \`pnpm run docs\``).toContain((lines[0] ?? '').replace(/\s+/g, ''));
        expect(text).toContain((lines.at(-1) ?? '').replace(/\s+/g, ''));
      }
    },
  );
});

import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(readFileSync(resolve(packageRoot, 'package.json'), 'utf8')) as {
  imports: Record<string, Record<string, string>>;
};

// Every `import … from '…'`, `export … from '…'` and `import('…')`, type-only imports included
// (they are erased, so they are reported separately).
const importPattern = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

interface Graph {
  files: string[];
  /** Bare (package or built-in) specifiers imported at runtime, by importing file. */
  runtimeImports: Array<{ file: string; specifier: string }>;
}

/** Follows the import graph from `entry` the way a bundler with these conditions would. */
function importGraph(entry: string, conditions: ReadonlyArray<string>): Graph {
  const seen = new Set<string>();
  const runtimeImports: Graph['runtimeImports'] = [];
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.endsWith('.ts')) continue;
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(importPattern)) {
      const typeOnly = match[2] !== undefined;
      const specifier = match[3] ?? match[4]!;
      if (specifier.startsWith('#')) {
        const targets = manifest.imports[specifier];
        expect(targets, `${specifier} is declared in package.json imports`).toBeDefined();
        const condition = conditions.find((name) => targets![name] !== undefined) ?? 'default';
        queue.push(resolve(packageRoot, targets![condition]!));
      } else if (specifier.startsWith('.')) {
        const base = resolve(dirname(file), specifier);
        queue.push(base.endsWith('.json') ? base : `${base}.ts`);
      } else if (!typeOnly) {
        runtimeImports.push({ file, specifier });
      }
    }
  }
  return { files: [...seen], runtimeImports };
}

const isBuiltin = (specifier: string): boolean => specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]!);

describe('edge bundle', () => {
  const edge = importGraph(resolve(packageRoot, 'src/index.ts'), ['edge-light']);
  const node = importGraph(resolve(packageRoot, 'src/index.ts'), ['node']);

  it('resolves #crypto to src/crypto/web.ts under the edge-light condition', () => {
    expect(edge.files).toContain(resolve(packageRoot, 'src/crypto/web.ts'));
    expect(edge.files).not.toContain(resolve(packageRoot, 'src/crypto/node.ts'));
    expect(node.files).toContain(resolve(packageRoot, 'src/crypto/node.ts'));
  });

  it('imports no Node built-in anywhere in the edge import graph', () => {
    expect(edge.files.length).toBeGreaterThan(10);
    expect(edge.runtimeImports.filter(({ specifier }) => isBuiltin(specifier))).toEqual([]);
    // Nothing but the optional peer is imported at runtime from packages, and ioredis is only a type.
    expect(edge.runtimeImports).toEqual([]);
  });

  it('finds node:crypto in the node graph (the scan sees what it looks for)', () => {
    expect(node.runtimeImports.map(({ specifier }) => specifier)).toContain('node:crypto');
  });

  it('uses no Node-only globals in the edge graph', () => {
    for (const file of edge.files.filter((name) => name.endsWith('.ts'))) {
      const code = readFileSync(file, 'utf8').replace(/\/\/.*$/gm, '').replace(/\/\*[\s\S]*?\*\//g, '');
      expect(code, file).not.toMatch(/\b(Buffer|process|require|__dirname|setImmediate)\b/);
    }
  });
});

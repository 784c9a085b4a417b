import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import manifest from '../package.json';
import { packageDirectory } from './support';

const dist = join(packageDirectory, 'dist');

function bareImports(): Set<string> {
  const found = new Set<string>();
  for (const file of readdirSync(dist).filter((name) => name.endsWith('.js'))) {
    const code = readFileSync(join(dist, file), 'utf8');
    for (const match of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["']([^"'.][^"']*)["']/g)) {
      const specifier = match[1]!;
      // Only module names; SQL and messages in the bundle contain "from '…'" too.
      if (!/^(?:@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(?:\/[\w./-]+)?$/.test(specifier)) continue;
      const name = specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;
      if (!specifier.startsWith('node:') && !builtinModules.includes(name)) found.add(name);
    }
  }
  return found;
}

describe('the published package', () => {
  test('every module the built binary imports is a declared dependency', () => {
    const declared = new Set(Object.keys({ ...manifest.dependencies }));
    const imported = bareImports();
    expect(imported.size).toBeGreaterThan(3);
    expect([...imported].filter((name) => !declared.has(name))).toEqual([]);
  });

  test('bundles @hooks/core and @hooks/sender instead of importing them', () => {
    expect([...bareImports()].filter((name) => name.startsWith('@hooks/'))).toEqual([]);
  });

  test('the bin is an executable ESM file with a node shebang', () => {
    const bin = join(packageDirectory, manifest.bin.hooks);
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(bin).mode & 0o111).not.toBe(0);
    expect(manifest.files).toEqual(['dist']);
    expect(manifest.engines.node).toBe('>=20');
  });

  test('the tarball holds the built binary, the README and the manifest, nothing else', () => {
    // `npm pack --dry-run` lists what `files` publishes (attw has nothing to check: no types, no exports).
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: packageDirectory, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as Array<{ files: Array<{ path: string }> }>;
    const paths = pack!.files.map((entry) => entry.path).sort();
    expect(paths).toContain('dist/bin.js');
    expect(paths).toContain('README.md');
    expect(paths).toContain('package.json');
    expect(paths.filter((path) => !/^dist\/[\w-]+\.js$/.test(path) && !['README.md', 'package.json', 'LICENSE'].includes(path))).toEqual([]);
  });
});

import { createRequire } from 'node:module';
import { build } from 'esbuild';

/**
 * `<hooks-portal>` as one browser module (lit included), bundled once from the workspace
 * package when the demo starts: the demo runs from sources and needs no build step. A SaaS
 * serves `@hooks/portal/browser` (the same bundle, prebuilt) or imports the package in its own
 * frontend build.
 */
export async function bundlePortalScript(): Promise<string> {
  const entry = createRequire(import.meta.url).resolve('@hooks/portal/package.json').replace(/package\.json$/, 'src/index.ts');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    write: false,
    conditions: ['dev-source', 'browser', 'module', 'import', 'default'],
    legalComments: 'none',
    logLevel: 'silent',
  });
  const output = result.outputFiles[0];
  if (!output) throw new Error('esbuild produced no portal bundle.');
  return output.text;
}

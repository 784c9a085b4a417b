import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const PACKAGE = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Bundles an entry of the package for the browser with everything it imports (lit, react…), as a
 * page loads it: one ES module. Sources are used directly (`dev-source`), so no build is needed.
 */
export async function bundleForBrowser(entry = 'src/index.ts', options: { minify?: boolean } = {}): Promise<string> {
  const result = await build({
    entryPoints: [`${PACKAGE}/${entry}`],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: options.minify ?? false,
    write: false,
    conditions: ['dev-source', 'browser', 'module', 'import', 'default'],
    define: { 'process.env.NODE_ENV': '"production"' },
    legalComments: 'none',
    logLevel: 'silent',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error(`esbuild produced nothing for ${entry}`);
  return output.text;
}

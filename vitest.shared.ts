import { builtinModules } from 'node:module';
import type { Plugin, ViteUserConfig } from 'vitest/config';

// Resolve workspace packages to their TypeScript sources so tests never need a build first.
// No `import` here: vitest forwards these to Node's own resolver, where `import` makes require()
// load the ESM build of CJS dependencies (Express's router then breaks). Vite adds it itself.
const conditions = ['dev-source', 'node', 'module', 'default'];

export const sharedTestOptions = {
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['dev-source'] } },
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 30_000,
    // The JSON report feeds the one-line summary that `pnpm test` prints at the end.
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
} satisfies ViteUserConfig;

// Edge-runtime projects: `edge-light` comes first, so core's `#crypto` resolves to Web Crypto, as
// it does for Next.js edge routes and workers.
const edgeConditions = ['edge-light', 'worker', 'dev-source', 'import', 'module', 'default'];

// Fails the project if a module it loads from our sources (or core's) imports a Node built-in:
// edge runtimes have none. (Checked on the transformed code: Vite resolves built-ins before
// plugins see them.)
const builtinImport = new RegExp(`(?:from|import)\\s*\\(?\\s*['"](node:[^'"]+|${builtinModules.join('|')})['"]`);
const noNodeBuiltins: Plugin = {
  name: 'no-node-builtins',
  enforce: 'pre',
  transform(code, id) {
    const match = id.includes('/node_modules/') ? null : builtinImport.exec(code);
    if (match) throw new Error(`${id} imports the Node built-in "${match[1]}", which edge runtimes do not have.`);
    return null;
  },
};

/** A vitest project running a package's `*.edge.test.ts` files under the edge runtime, with no Node built-ins allowed. */
export function edgeTestProject(name: string) {
  return {
    plugins: [noNodeBuiltins],
    resolve: { conditions: edgeConditions },
    ssr: { resolve: { conditions: edgeConditions, externalConditions: ['edge-light', 'dev-source'] } },
    test: { ...sharedTestOptions.test, name, environment: 'edge-runtime', include: ['test/**/*.edge.test.ts'] },
  } satisfies ViteUserConfig;
}

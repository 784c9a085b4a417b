import { builtinModules } from 'node:module';
import { type Plugin, defineProject } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared';

// The adapter and core verification under the edge runtime: `edge-light` comes first, so core's
// `#crypto` resolves to Web Crypto, as it does for Next.js edge routes and workers.
const conditions = ['edge-light', 'worker', 'dev-source', 'import', 'module', 'default'];

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

export default defineProject({
  plugins: [noNodeBuiltins],
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['edge-light', 'dev-source'] } },
  test: { ...sharedTestOptions.test, name: 'hono-edge', environment: 'edge-runtime', include: ['test/**/*.edge.test.ts'] },
});

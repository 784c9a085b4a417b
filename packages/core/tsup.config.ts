import { type Options, defineConfig } from 'tsup';

// Two bundles that differ only in how `#crypto` resolves: node:crypto, or Web Crypto for edge runtimes.
// Two entries: the public API, and `internal` (helpers the other @hooks packages share).
const entry = { index: 'src/index.ts', internal: 'src/internal.ts' };
const shared: Options = { entry, format: ['esm', 'cjs'], sourcemap: true, target: 'es2022' };

export default defineConfig([
  { ...shared, outDir: 'dist/node', platform: 'node', clean: true },
  { ...shared, outDir: 'dist/web', platform: 'neutral', esbuildOptions: (options) => { options.conditions = ['edge-light', 'worker', 'import']; options.mainFields = ['module', 'main']; } },
  { entry, format: ['esm', 'cjs'], dts: { only: true }, outDir: 'dist' },
]);

import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { bin: 'src/bin.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  // Each command is a chunk loaded on use: `hooks sign` never loads SQLite or pg.
  splitting: true,
  sourcemap: true,
  clean: true,
  dts: false,
  // The CLI ships the @hooks/core and @hooks/sender code it was released with (their versions are
  // linked by changesets), so `npx @hooks/cli` works in any project. Built from their sources:
  // no stale dist of a sibling package can end up in the binary.
  noExternal: [/^@hooks\//],
  esbuildOptions(options) {
    options.conditions = ['dev-source'];
  },
});

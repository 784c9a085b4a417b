import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

interface Manifest {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

function manifest(path: string): Manifest {
  return JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as Manifest;
}

// What the bundled @hooks packages import from npm stays an import: the CLI declares those as its
// own dependencies (a test checks it), and optional peers are loaded only when present.
const bundled = [manifest('../core/package.json'), manifest('../sender/package.json')];
const external = [
  ...new Set(
    bundled.flatMap((entry) => Object.keys({ ...entry.dependencies, ...entry.peerDependencies, ...entry.optionalDependencies })).filter((name) => !name.startsWith('@hooks/')),
  ),
];

export default defineConfig({
  entry: { bin: 'src/bin.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  // Each command is a chunk loaded on use: `hooks sign` never loads SQLite or pg.
  splitting: true,
  // No source maps: they would carry the sources of every bundled package, and the CLI prints no stack traces.
  sourcemap: false,
  clean: true,
  dts: false,
  // The CLI ships the @hooks/core and @hooks/sender code it was released with (their versions are
  // linked by changesets), so `npx @hooks/cli` works in any project. Built from their sources:
  // no stale dist of a sibling package can end up in the binary.
  noExternal: [/^@hooks\//],
  external,
  esbuildOptions(options) {
    options.conditions = ['dev-source'];
  },
});

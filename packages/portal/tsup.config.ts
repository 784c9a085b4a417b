import { defineConfig } from 'tsup';

export default defineConfig([
  // For bundlers: lit and react stay dependencies of the app.
  {
    entry: ['src/index.ts', 'src/react.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    external: [/^lit(\/|$)/, /^@lit\//, 'react'],
  },
  // For a plain <script type="module">: one file with lit inside (`@hooks/portal/browser`).
  {
    entry: { 'hooks-portal': 'src/index.ts' },
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    minify: true,
    noExternal: ['lit'],
    clean: false,
    outExtension: () => ({ js: '.js' }),
  },
]);

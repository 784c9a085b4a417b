import { defineProject } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared';

// Vitest passes ssr.resolve.conditions to Node as --conditions; an `import` condition there makes
// CommonJS require() load the ESM build of dual packages (pg → pg-pool breaks). Node adds
// `import`/`require` by itself, so dropping it changes nothing else. Without the shared `module`
// condition too: @opentelemetry's `module` builds (tracing and metrics tests) have extension-less
// imports that only bundlers resolve, and Node would pick them for these external packages.
const nodeConditions = sharedTestOptions.ssr.resolve.conditions.filter((condition) => condition !== 'import' && condition !== 'module');

export default defineProject({
  ...sharedTestOptions,
  resolve: { ...sharedTestOptions.resolve, conditions: nodeConditions },
  ssr: { ...sharedTestOptions.ssr, resolve: { ...sharedTestOptions.ssr.resolve, conditions: nodeConditions } },
  test: { ...sharedTestOptions.test, name: 'sender' },
});

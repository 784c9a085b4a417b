import { defineProject } from 'vitest/config';
import { sharedTestOptions } from '../../vitest.shared';

// Vitest passes ssr.resolve.conditions to Node as --conditions; an `import` condition there makes
// CommonJS require() load the ESM build of dual packages (pg → pg-pool breaks). Node adds
// `import`/`require` by itself, so dropping it changes nothing else.
const nodeConditions = sharedTestOptions.ssr.resolve.conditions.filter((condition) => condition !== 'import');

export default defineProject({
  ...sharedTestOptions,
  ssr: { ...sharedTestOptions.ssr, resolve: { ...sharedTestOptions.ssr.resolve, conditions: nodeConditions } },
  test: { ...sharedTestOptions.test, name: 'sender' },
});

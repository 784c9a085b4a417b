// Removes stale vitest reports so the closing summary only counts this run.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

for (const root of ['packages', 'apps', 'tools', 'fixtures']) {
  if (!existsSync(root)) continue;
  for (const name of readdirSync(root)) rmSync(join(root, name, 'test-results', 'vitest.json'), { force: true });
}

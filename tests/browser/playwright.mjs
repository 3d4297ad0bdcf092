// playwright.mjs — what the browser tests share: playwright-core, found in the build tree
// (scripts/setup installs it into build/node), not beside the tests. ESM ignores NODE_PATH, so
// it is resolved as CommonJS from LOUPE_NODE_DIR, then each NODE_PATH entry, then from here.
import { createRequire } from 'node:module';
import path from 'node:path';

export function loadPlaywright() {
  const dirs = [process.env.LOUPE_NODE_DIR,
                ...(process.env.NODE_PATH || '').split(path.delimiter)].filter(Boolean);
  for (const dir of dirs) {
    const req = createRequire(path.join(path.resolve(dir), 'package.json'));
    try { return req('playwright-core'); } catch (e) {
      if (e.code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  return createRequire(import.meta.url)('playwright-core');
}

#!/usr/bin/env -S node --max-semi-space-size=4 --no-allocation-site-pretenuring
// The `tributary` command.
//
// - Installed from the package (npm install tributary): runs the compiled CLI, dist/src/cli/bin.js,
//   with plain Node. The package ships dist/ and no sources, and needs no tsx.
// - In a checkout of the repository (src/cli/bin.ts beside this file and tsx installed): runs the
//   TypeScript sources through tsx, always, even when a dist/ is present. A dist/ in a working tree
//   is whatever the last `npm run build` left, so preferring it would run stale code while the
//   sources change. `TRIBUTARY_BIN=dist` runs the compiled CLI in a checkout anyway (after `npm run
//   build`); `TRIBUTARY_BIN=src` insists on the sources.
/* global process */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

// eslint-disable-next-line no-undef -- URL is a Node global
const root = fileURLToPath(new URL('..', import.meta.url));
const built = `${root}dist/src/cli/bin.js`;
const sources = `${root}src/cli/bin.ts`;
const choice = process.env.TRIBUTARY_BIN;

/** tsx's ESM API, or null when tsx is not installed (as in an installed package). */
async function loadTsx() {
  try {
    return await import('tsx/esm/api');
  } catch (err) {
    if (err && (err.code === 'ERR_MODULE_NOT_FOUND' || err.code === 'MODULE_NOT_FOUND')) return null;
    throw err;
  }
}

const tsx = choice !== 'dist' && existsSync(sources) ? await loadTsx() : null;
if (tsx) {
  tsx.register();
  await import(pathToFileURL(sources).href);
} else if (choice !== 'src' && existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const why =
    choice === 'src'
      ? `TRIBUTARY_BIN=src, but ${existsSync(sources) ? 'tsx is not installed' : `there are no sources at ${sources}`}.`
      : `${built} is missing.`;
  process.stderr.write(`tributary: cannot start: ${why} Fix: in a checkout run \`npm ci\` (and \`npm run build\` for TRIBUTARY_BIN=dist); an installed package ships dist/, so reinstall it.\n`);
  process.exit(3);
}

#!/usr/bin/env -S node --max-semi-space-size=4 --no-allocation-site-pretenuring
// The `tributary` command: the compiled CLI when built (npm run build), else the TypeScript
// sources through tsx (a development dependency).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

// eslint-disable-next-line no-undef -- URL is a Node global
const root = fileURLToPath(new URL('..', import.meta.url));
const built = `${root}dist/src/cli/bin.js`;
if (existsSync(built)) {
  await import(pathToFileURL(built).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(`${root}src/cli/bin.ts`).href);
}

/**
 * Puts a replacement for one of kafkajs' CommonJS files into Node's module cache, so that kafkajs'
 * own `require` of that file returns the replacement. Only works before kafkajs loaded the file;
 * `make` runs only then (it may require other kafkajs files). Returns `installed()`, which tells
 * whether the cache still holds the replacement.
 */
import Module, { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export function replaceKafkajsModule(path: string, make: () => unknown): () => boolean {
  const file = require.resolve(path);
  if (require.cache[file]) return () => false;
  const exports = make();
  const m = new Module(file);
  m.filename = file;
  m.loaded = true;
  m.exports = exports;
  require.cache[file] = m;
  return () => require.cache[file]?.exports === exports;
}

/** `require` for kafkajs' internal files from the replacements. */
export const kafkajsRequire = require;

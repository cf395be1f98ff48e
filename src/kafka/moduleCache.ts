/**
 * Puts a replacement for one of kafkajs' CommonJS files into Node's module cache, so that kafkajs'
 * own `require` of that file returns the replacement. Only works before kafkajs loaded the file;
 * `make` runs only then (it may require other kafkajs files). Returns `installed()`, which tells
 * whether the cache holds a replacement (this one, or one installed earlier in the process).
 */
import Module, { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** Marks a replacement, so that one installed earlier in the process (another copy of this module, a test file run before) is recognised. */
const MARK = Symbol.for('tributary.kafkajsReplacement');

const isReplacement = (exports: unknown): boolean => (typeof exports === 'function' || (typeof exports === 'object' && exports !== null)) && MARK in exports;

export function replaceKafkajsModule(path: string, make: () => unknown): () => boolean {
  const file = require.resolve(path);
  const installed = () => isReplacement(require.cache[file]?.exports);
  if (require.cache[file]) return installed;
  const exports = make();
  if ((typeof exports !== 'function' && typeof exports !== 'object') || exports === null) throw new Error(`kafkajs replacement for ${path} must be a function or an object`);
  Object.defineProperty(exports, MARK, { value: true });
  const m = new Module(file);
  m.filename = file;
  m.loaded = true;
  m.exports = exports;
  require.cache[file] = m;
  return installed;
}

/** `require` for kafkajs' internal files from the replacements. */
export const kafkajsRequire = require;

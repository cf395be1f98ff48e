/* global URL */
// Module resolution hook: `kafkajs` imported from ESM resolves to ./kafkajs-esm.mjs.
const shim = new URL('./kafkajs-esm.mjs', import.meta.url).href;

export async function resolve(specifier, context, next) {
  if (specifier === 'kafkajs' && context.parentURL !== shim && !context.parentURL?.includes('/node_modules/')) {
    return { url: shim, shortCircuit: true, format: 'module' };
  }
  return next(specifier, context);
}

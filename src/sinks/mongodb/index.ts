export * from './ops.js';
export * from './writer.js';
export * from './schema.js';
export * from './precheck.js';
export * from './verify.js';

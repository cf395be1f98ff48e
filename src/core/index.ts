export * from './errors.js';
export * from './position.js';
export * from './events.js';
export * from './batch.js';
export * from './contracts.js';
export * from './values.js';

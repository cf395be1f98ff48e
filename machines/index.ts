export * from './task.machine.js';
export * from './fullSync.machine.js';

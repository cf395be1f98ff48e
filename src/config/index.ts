export * from './schema.js';
export { loadTaskConfig, parseTaskConfig, validateTaskConfig, interpolateEnv, formatPath, formatOf, toConfigIssues } from './load.js';
export type { ConfigFormat, ParseOptions } from './load.js';
export { redactConfig, redactText, redactUri, collectSecrets, isSecretKey, MASK } from './redact.js';
export { describeOptions, generateConfigDocs } from './docs.js';
export type { OptionDoc } from './docs.js';
export { compileEtl, applyEtl as applyEtlToRow, evaluateEtl, etlProgramToFunction, EtlSyntaxError, ETL_FUNCTIONS } from './etl.js';
export type { EtlProgram, EtlRule, EtlExpr } from './etl.js';

import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/** The layer boundaries are lint rules (eslint.config.js): each one refuses the import it should. */
describe('layer boundaries', { timeout: 60_000 }, () => {
  const eslint = new ESLint();
  const restricted = async (code: string, filePath: string) =>
    (await eslint.lintText(code, { filePath }))[0]?.messages.filter((m) => m.ruleId === 'no-restricted-imports').length ?? 0;

  it.each([
    ['a machine importing a sink', "import { KafkaSink } from '../src/sinks/kafka/sink.js';\nexport const x = KafkaSink;\n", 'machines/probe.ts'],
    ['a format importing a source', "import { PgPosition } from '../sources/postgres/position.js';\nexport const x = PgPosition;\n", 'src/formats/probe.ts'],
    ['the runtime importing a concrete sink', "import { KafkaSink } from '../sinks/kafka/sink.js';\nexport const x = KafkaSink;\n", 'src/runtime/probe.ts'],
    ['the core importing the runtime', "import { TaskRunner } from '../runtime/task.js';\nexport const x = TaskRunner;\n", 'src/core/probe.ts'],
    ['the registration list importing a plug-in past its descriptor', "import { KafkaSink } from '../sinks/kafka/sink.js';\nexport const x = KafkaSink;\n", 'src/runtime/defaults.ts'],
  ])('refuses %s', async (_what, code, file) => {
    expect(await restricted(code, file)).toBe(1);
  });

  it.each([
    ['a machine importing the core', "import { FatalError } from '../src/core/errors.js';\nexport const x = FatalError;\n", 'machines/probe.ts'],
    ['the registration list importing a plug-in\'s descriptor', "import { kafkaSink } from '../sinks/kafka/descriptor.js';\nexport const x = kafkaSink;\n", 'src/runtime/defaults.ts'],
  ])('allows %s', async (_what, code, file) => {
    expect(await restricted(code, file)).toBe(0);
  });
});

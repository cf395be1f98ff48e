import { FatalError } from '../../core/errors.js';

/** A filter condition that cannot be parsed or bound; names the table, the position and the text. */
export class FilterSyntaxError extends FatalError {
  /** 0-based offset of the problem in the expression (or -1 when not positional). */
  readonly position: number;
  readonly expression: string;

  constructor(object: string, expression: string, position: number, problem: string) {
    const where = position >= 0 ? ` at position ${position + 1}` : '';
    const caret = position >= 0 ? `\n  ${expression}\n  ${' '.repeat(position)}^` : `\n  ${expression}`;
    super('FILTER_INVALID', `Filter condition for ${object} is invalid: ${problem}${where}.${caret}`, {
      object,
      field: 'filter',
      fix: 'correct the filter condition of this table in the task config',
    });
    this.position = position;
    this.expression = expression;
  }
}

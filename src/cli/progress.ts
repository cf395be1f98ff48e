/**
 * `tributary run` on a terminal: progress drawn by cli-progress. Full sync shows a bar for the
 * total and, for 2 to 8 tables, one per table, each with rows done/estimated, chunks, the rate and
 * an ETA from the rate of the last 20 s; the bars reach 100 % when the copy completes and stay on
 * screen. Incremental sync shows one line (latency, events, position). State changes are printed
 * as lines above. Not used off a terminal, where `run` prints plain lines (render.ts).
 */
import cliProgress from 'cli-progress';
import type { RowProgress, TaskStatus } from '../runtime/task.js';
import { MAX_TABLE_LINES, barFraction, progressLine, rowFigures, sampleRates, type RecentRate } from './render.js';

type Kind = 'full' | 'incremental' | 'other';

interface Payload {
  /** Label before the bar; none for a line without a bar. */
  label?: string;
  fraction: number;
  text: string;
}

const TOTAL = '';
const kindOf = (s: TaskStatus): Kind => (s.state === 'full' || s.state.startsWith('full') ? 'full' : s.state === 'incremental' ? 'incremental' : 'other');

export class TerminalProgress {
  private multibar: cliProgress.MultiBar | null = null;
  private kind: Kind | null = null;
  private readonly bars = new Map<string, cliProgress.SingleBar>();
  private readonly rates = new Map<string, RecentRate>();
  private labelWidth = 'full sync'.length;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  /** Prints `line` (a state change) after finishing the current bars, drawn a last time with `s`. */
  phaseChanged(s: TaskStatus, line: string): void {
    this.finish(s);
    this.stream.write(`${line}\n`);
  }

  /** Draws `s`: the bars of its phase, started when the phase is new. */
  update(s: TaskStatus, phaseStartedAt: number, eventsAtPhaseStart: number): void {
    const kind = kindOf(s);
    if (kind !== this.kind) this.finish(s);
    if (!this.multibar) this.begin(kind);
    if (kind === 'full') this.drawFull(s);
    else this.set(TOTAL, { fraction: 0, text: progressLine(s, phaseStartedAt, eventsAtPhaseStart) });
  }

  /** Ends the bars (the full-sync bars drawn a last time with `s`, when given) and restores the terminal. */
  finish(s?: TaskStatus): void {
    if (!this.multibar) return;
    if (s && this.kind === 'full') this.drawFull(s);
    this.multibar.stop();
    this.multibar = null;
    this.kind = null;
    this.bars.clear();
  }

  private begin(kind: Kind): void {
    this.kind = kind;
    if (kind === 'full') this.rates.clear();
    this.multibar = new cliProgress.MultiBar(
      {
        stream: this.stream,
        fps: 4,
        barsize: 30,
        // A line such as `state: retrying.waiting` only stands until the next state's line replaces it.
        clearOnComplete: kind === 'other',
        format: (options, _params, payload: Payload) =>
          payload.label === undefined ? payload.text : `${payload.label.padEnd(this.labelWidth)} ${cliProgress.Format.BarFormat(payload.fraction, options)} ${payload.text}`,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  private drawFull(s: TaskStatus): void {
    sampleRates(this.rates, s);
    const tables = Object.entries(s.progress.tables ?? {});
    const perTable = tables.length > 1 && tables.length <= MAX_TABLE_LINES;
    if (perTable) this.labelWidth = Math.max(this.labelWidth, ...tables.map(([name]) => name.length + 2));
    const rate = (key: string) => this.rates.get(key)?.perSecond() ?? null;
    const figures = (p: RowProgress, key: string) => ({ fraction: barFraction(p), text: rowFigures(p, rate(key)) });
    this.set(TOTAL, { label: tables.length > MAX_TABLE_LINES ? `full sync (${tables.length} tables)` : 'full sync', ...figures(s.progress, TOTAL) });
    if (perTable) for (const [name, p] of tables) this.set(name, { label: `  ${name}`, ...figures(p, name) });
  }

  private set(key: string, payload: Payload): void {
    const value = Math.round(payload.fraction * 1000);
    const bar = this.bars.get(key);
    if (bar) bar.update(value, payload);
    else if (this.multibar) this.bars.set(key, this.multibar.create(1000, value, payload));
  }
}

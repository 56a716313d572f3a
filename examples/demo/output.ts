/**
 * How the demo talks to a person: headings, one line per step, a progress bar for image writes
 * and the closing summary table — all on stdout, so a captured run reads like the live one.
 *
 * On a terminal the progress bar redraws one line with `\r` and colours mark success and
 * failure (unless `NO_COLOR` is set); anywhere else (a pipe, a CI log, the test suite) the bar
 * is printed as a few static lines (at each quarter of the image) and no escape codes appear.
 *
 * Not safe for concurrent use: one narrator per process, steps arrive in order.
 *
 * @module
 */

/** Where the narration goes; `isTTY` decides between redraws and static lines. */
export interface Sink {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** One row of the summary table. */
export interface SummaryRow {
  scenario: string;
  expected: string;
  outcome: string;
  booted: string;
  installed: string;
  ok: boolean;
}

const BAR_WIDTH = 24;
const LABEL_WIDTH = 12;

/** Bytes as a short human figure: `4.0 MiB`, `512 KiB`, `17 B`. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`;
  return `${n} B`;
}

/** The first characters of a hex digest, for display. */
export function shortHash(hex: string | undefined): string {
  return hex === undefined ? '?' : `${hex.slice(0, 12)}…`;
}

/**
 * The demo's voice.
 *
 * @example
 * ```ts
 * const say = new Narrator(process.stdout);
 * say.heading('Setup');
 * say.step('server', 'http://127.0.0.1:8080');
 * ```
 */
export class Narrator {
  readonly #out: Sink;
  readonly #tty: boolean;
  readonly #color: boolean;
  #bar: { label: string; total: number; done: number; printedQuarter: number } | undefined;

  constructor(out: Sink, options: { color?: boolean } = {}) {
    this.#out = out;
    this.#tty = out.isTTY === true;
    this.#color = options.color ?? (this.#tty && process.env.NO_COLOR === undefined);
  }

  /** The title block. */
  title(text: string, subtitle: string): void {
    this.#line(this.#bold(text));
    this.#line(this.#dim(subtitle));
  }

  /** A section heading, preceded by a blank line. */
  heading(text: string): void {
    this.#endBar();
    this.#line('');
    this.#line(this.#bold(`▸ ${text}`));
  }

  /** One step: a short label and what happened. */
  step(label: string, message: string): void {
    this.#endBar();
    this.#line(`  ${label.padEnd(LABEL_WIDTH)} ${message}`);
  }

  /** A step that went as the scenario expects (✓) or not (✗). */
  verdict(ok: boolean, message: string): void {
    this.step(ok ? this.#green('✓') : this.#red('✗'), message);
  }

  /** Start a progress bar over `total` bytes, `done` of them already in place. */
  startProgress(label: string, total: number, done = 0): void {
    this.#endBar();
    // Off a terminal the 0% line is left out, unless the write resumes part-way.
    this.#bar = { label, total: Math.max(total, 1), done, printedQuarter: done > 0 ? -1 : 0 };
    this.#drawBar();
  }

  /** Move the bar to `done` bytes. */
  progress(done: number): void {
    if (this.#bar === undefined) return;
    this.#bar.done = Math.min(done, this.#bar.total);
    this.#drawBar();
  }

  /** Finish the bar where it stands (a completed write, or an interrupted one). */
  endProgress(): void {
    this.#endBar();
  }

  /** The closing table, with a ✓ or ✗ per row. */
  summary(rows: readonly SummaryRow[]): void {
    this.heading('Summary');
    const header: SummaryRow = {
      scenario: 'scenario',
      expected: 'expected',
      outcome: 'outcome',
      booted: 'booted',
      installed: 'installed',
      ok: true,
    };
    const columns = ['scenario', 'expected', 'outcome', 'booted', 'installed'] as const;
    const width = Object.fromEntries(
      columns.map((c) => [c, Math.max(...[header, ...rows].map((r) => r[c].length))]),
    ) as Record<(typeof columns)[number], number>;
    const cells = (r: SummaryRow) => columns.map((c) => r[c].padEnd(width[c])).join('  ');
    this.#line(`  ${this.#dim(`${cells(header)}  ok`)}`);
    this.#line(`  ${this.#dim('─'.repeat(cells(header).length + 4))}`);
    for (const row of rows) {
      this.#line(`  ${cells(row)}  ${row.ok ? this.#green('✓') : this.#red('✗')}`);
    }
  }

  /** The last line: every scenario as expected, or how many were not. */
  finalLine(ok: boolean, text: string): void {
    this.#endBar();
    this.#line('');
    this.#line(ok ? this.#green(text) : this.#red(text));
  }

  #drawBar(): void {
    const bar = this.#bar;
    if (bar === undefined) return;
    const fraction = bar.done / bar.total;
    const filled = Math.round(fraction * BAR_WIDTH);
    const text = `  ${bar.label.padEnd(LABEL_WIDTH)} [${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}%  ${formatBytes(bar.done)} of ${formatBytes(bar.total)}`;
    if (this.#tty) {
      this.#out.write(`\r\x1b[K${text}`);
      return;
    }
    // Static lines: each quarter crossed (four lines for a whole write).
    const quarter = Math.floor(fraction * 4);
    if (quarter > bar.printedQuarter) {
      bar.printedQuarter = quarter;
      this.#out.write(`${text}\n`);
    }
  }

  #endBar(): void {
    if (this.#bar === undefined) return;
    if (this.#tty) this.#out.write('\n');
    this.#bar = undefined;
  }

  #line(text: string): void {
    this.#out.write(`${text}\n`);
  }

  #bold(s: string): string {
    return this.#color ? `\x1b[1m${s}\x1b[0m` : s;
  }
  #dim(s: string): string {
    return this.#color ? `\x1b[2m${s}\x1b[0m` : s;
  }
  #green(s: string): string {
    return this.#color ? `\x1b[32m${s}\x1b[0m` : s;
  }
  #red(s: string): string {
    return this.#color ? `\x1b[31m${s}\x1b[0m` : s;
  }
}

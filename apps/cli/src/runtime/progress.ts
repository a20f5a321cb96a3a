/** Format seconds as `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** `loss 0.4123  accuracy 0.8750  f1 0.8571  mcc 0.7500` (perplexity with two decimals). */
export function formatMetrics(m: Readonly<Record<string, number | undefined>>): string {
  return ['loss', 'accuracy', 'f1', 'mcc', 'perplexity']
    .filter((k) => m[k] !== undefined)
    .map((k) => `${k} ${k === 'perplexity' ? m[k]!.toFixed(2) : m[k]!.toFixed(4)}`)
    .join('  ');
}

/** One progress update. */
export interface ProgressUpdate {
  readonly step: number;
  readonly loss: number;
  readonly tokensPerSecond: number;
}

/**
 * A training progress display on stderr: a bar redrawn in place on a terminal (step/total, loss, tokens/s, ETA),
 * plain lines (about ten per run) otherwise, so logs stay readable.
 */
export class Progress {
  private readonly start: number;
  private tokensPerSecond = 0;
  private lastLength = 0;
  private readonly every: number;
  /**
   * The first update's step and time. The ETA counts from there: the first step also pays for loading kernels and
   * compiling (several times a later step), so timing it made the first ETA several times too long.
   */
  private first: { readonly step: number; readonly at: number } | undefined;

  /** @param now - clock in milliseconds (tests pass a fake one). */
  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly label: string,
    private readonly total: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.every = Math.max(1, Math.ceil(total / 10));
    this.start = this.now();
  }

  /** Seconds left, from the steps since the first update; undefined before a second update. */
  private eta(step: number): number | undefined {
    const t = this.now();
    if (this.first === undefined) {
      this.first = { step, at: t };
      return step >= this.total ? 0 : undefined;
    }
    if (step <= this.first.step) return undefined;
    return ((t - this.first.at) / 1000 / (step - this.first.step)) * (this.total - step);
  }

  private get tty(): boolean {
    return this.stream.isTTY === true;
  }

  update(u: ProgressUpdate): void {
    this.tokensPerSecond = this.tokensPerSecond === 0 ? u.tokensPerSecond : 0.8 * this.tokensPerSecond + 0.2 * u.tokensPerSecond;
    const eta = this.eta(u.step);
    const width = String(this.total).length;
    const stats = `${String(u.step).padStart(width)}/${this.total}  loss ${u.loss.toFixed(4)}  ${Math.round(this.tokensPerSecond)} tok/s  ETA ${eta === undefined ? '…' : formatDuration(eta)}`;
    if (this.tty) {
      const cols = this.stream.columns || 100;
      const cells = Math.max(0, Math.min(24, cols - 1 - stats.length - this.label.length - 4));
      const filled = Math.round((cells * u.step) / this.total);
      let line = cells > 0 ? `${this.label} [${'#'.repeat(filled)}${'-'.repeat(cells - filled)}] ${stats}` : `${this.label} ${stats}`;
      if (line.length > cols - 1) line = line.slice(0, cols - 1);
      this.stream.write(`\r${line.padEnd(this.lastLength)}`);
      this.lastLength = line.length;
    } else if (u.step === this.first?.step || u.step === this.first!.step + 1 || u.step === this.total || u.step % this.every === 0) {
      this.stream.write(`${this.label} step ${stats}\n`);
    }
  }

  /** Print a line (e.g. an evaluation) without garbling the bar. */
  log(line: string): void {
    if (this.tty && this.lastLength > 0) {
      this.stream.write('\n');
      this.lastLength = 0;
    }
    this.stream.write(`${line}\n`);
  }

  /** End the bar (newline on a terminal); returns the elapsed seconds. */
  done(): number {
    if (this.tty && this.lastLength > 0) this.stream.write('\n');
    this.lastLength = 0;
    return (this.now() - this.start) / 1000;
  }
}

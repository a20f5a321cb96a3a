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
  private readonly start = performance.now();
  private tokensPerSecond = 0;
  private lastLength = 0;
  private readonly every: number;
  /** The step before the first update (non-zero when a run resumes from a checkpoint), for the ETA. */
  private startStep: number | undefined;

  constructor(
    private readonly stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
    private readonly label: string,
    private readonly total: number,
  ) {
    this.every = Math.max(1, Math.ceil(total / 10));
  }

  private get tty(): boolean {
    return this.stream.isTTY === true;
  }

  update(u: ProgressUpdate): void {
    this.tokensPerSecond = this.tokensPerSecond === 0 ? u.tokensPerSecond : 0.8 * this.tokensPerSecond + 0.2 * u.tokensPerSecond;
    const elapsed = (performance.now() - this.start) / 1000;
    this.startStep ??= u.step - 1;
    const eta = (elapsed / (u.step - this.startStep)) * (this.total - u.step);
    const width = String(this.total).length;
    const stats = `${String(u.step).padStart(width)}/${this.total}  loss ${u.loss.toFixed(4)}  ${Math.round(this.tokensPerSecond)} tok/s  ETA ${formatDuration(eta)}`;
    if (this.tty) {
      const cols = this.stream.columns || 100;
      const cells = Math.max(0, Math.min(24, cols - 1 - stats.length - this.label.length - 4));
      const filled = Math.round((cells * u.step) / this.total);
      let line = cells > 0 ? `${this.label} [${'#'.repeat(filled)}${'-'.repeat(cells - filled)}] ${stats}` : `${this.label} ${stats}`;
      if (line.length > cols - 1) line = line.slice(0, cols - 1);
      this.stream.write(`\r${line.padEnd(this.lastLength)}`);
      this.lastLength = line.length;
    } else if (u.step === 1 || u.step === this.total || u.step % this.every === 0) {
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
    return (performance.now() - this.start) / 1000;
  }
}

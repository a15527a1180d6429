// Progress on stderr: a redrawn bar on a terminal, plain periodic lines otherwise (CI logs,
// Slurm output files), so logs stay readable and terminals stay lively.

export interface ProgressOptions {
  total: number;
  stream?: NodeJS.WriteStream;
  /** Seconds between plain lines when not a TTY. */
  intervalS?: number;
  quiet?: boolean;
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  s = Math.round(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h ? `${h}h${String(m).padStart(2, "0")}m` : m ? `${m}m${String(sec).padStart(2, "0")}s` : `${sec}s`;
}

export class Progress {
  private done = 0;
  private errors = 0;
  private audioS = 0;
  private readonly start = Date.now();
  private last = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY) && !opts.quiet;
    if (this.tty) this.timer = setInterval(() => this.draw(), 250).unref();
  }

  update(items: number, errors: number, audioS: number): void {
    this.done += items;
    this.errors += errors;
    this.audioS += audioS;
    if (this.opts.quiet || this.tty) return;
    const now = Date.now();
    if (now - this.last >= (this.opts.intervalS ?? 10) * 1000) {
      this.last = now;
      this.stream.write(this.line() + "\n");
    }
  }

  private line(): string {
    const elapsedS = (Date.now() - this.start) / 1000;
    const n = this.done + this.errors;
    const frac = this.opts.total ? n / this.opts.total : 1;
    const xrt = elapsedS > 0 ? this.audioS / elapsedS : 0;
    const eta = frac > 0 ? (elapsedS / frac) * (1 - frac) : Infinity;
    return `${n}/${this.opts.total} items (${(frac * 100).toFixed(1)}%), ${this.errors} errors, ${xrt.toFixed(1)}x realtime, elapsed ${fmtDuration(elapsedS)}, ETA ${fmtDuration(eta)}`;
  }

  private draw(): void {
    const n = this.done + this.errors;
    const frac = this.opts.total ? n / this.opts.total : 1;
    const width = 24;
    const fill = Math.round(frac * width);
    const bar = "█".repeat(fill) + "░".repeat(width - fill);
    const cols = this.stream.columns ?? 100;
    this.stream.write(`\r${`${bar} ${this.line()}`.slice(0, cols - 1)}\x1b[K`);
  }

  finish(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.opts.quiet) return;
    if (this.tty) {
      this.draw();
      this.stream.write("\n");
    } else this.stream.write(this.line() + "\n");
  }
}

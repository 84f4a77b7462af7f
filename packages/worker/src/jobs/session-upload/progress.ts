/**
 * A one-line progress bar on stderr for long runs in a terminal; silent otherwise (logs say what
 * happened). Redraws at most ten times a second.
 */
export class Progress {
  private done = 0;
  private bytes = 0;
  private lastDraw = 0;
  private readonly total: number;
  private readonly enabled: boolean;

  constructor(total: number, enabled: boolean) {
    this.total = total;
    this.enabled = enabled && total > 0;
  }

  advance(bytes: number): void {
    this.done += 1;
    this.bytes += bytes;
    const now = Date.now();
    if (this.enabled && (now - this.lastDraw > 100 || this.done === this.total)) {
      this.lastDraw = now;
      const width = 24;
      const filled = Math.round((this.done / this.total) * width);
      process.stderr.write(
        `\r  [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${this.done}/${this.total} files, ${(this.bytes / 1048576).toFixed(1)} MB`,
      );
    }
  }

  finish(): void {
    if (this.enabled) process.stderr.write('\n');
  }
}

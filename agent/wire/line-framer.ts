/**
 * Splits a byte stream into newline-terminated frames of at most `maxBytes`. An oversized
 * frame is reported once and skipped up to its newline, so one bad client line never costs
 * more than `maxBytes` of memory and the connection goes on.
 *
 * A frame handler may return a byte count: that many raw bytes follow the line (a data frame
 * of a streamed answer) and go to `onRaw`, in pieces as they arrive.
 */
export class LineFramer {
  #chunks: Buffer[] = [];
  #length = 0;
  #skipping = false;
  #rawLeft = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onFrame: (line: string) => number | void,
    private readonly onOversize: () => void,
    private readonly onRaw: (piece: Buffer) => void = () => undefined,
  ) {}

  push(data: Buffer): void {
    let start = 0;
    while (start < data.length) {
      if (this.#rawLeft > 0) {
        const piece = data.subarray(start, start + this.#rawLeft);
        this.#rawLeft -= piece.length;
        start += piece.length;
        this.onRaw(piece);
        continue;
      }
      const nl = data.indexOf(0x0a, start);
      const end = nl === -1 ? data.length : nl;
      if (!this.#skipping) {
        const piece = data.subarray(start, end);
        if (this.#length + piece.length > this.maxBytes) {
          this.#chunks = [];
          this.#length = 0;
          this.#skipping = true;
          this.onOversize();
        } else {
          this.#chunks.push(piece);
          this.#length += piece.length;
        }
      }
      if (nl === -1) return;
      if (!this.#skipping) {
        const line = Buffer.concat(this.#chunks, this.#length).toString('utf8');
        const raw = this.onFrame(line.endsWith('\r') ? line.slice(0, -1) : line);
        if (typeof raw === 'number' && raw > 0) this.#rawLeft = raw;
      }
      this.#chunks = [];
      this.#length = 0;
      this.#skipping = false;
      start = nl + 1;
    }
  }
}

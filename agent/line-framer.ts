/**
 * Splits a byte stream into newline-terminated frames of at most `maxBytes`. An oversized
 * frame is reported once and skipped up to its newline, so one bad client line never costs
 * more than `maxBytes` of memory and the connection goes on.
 */
export class LineFramer {
  #chunks: Buffer[] = [];
  #length = 0;
  #skipping = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onFrame: (line: string) => void,
    private readonly onOversize: () => void,
  ) {}

  push(data: Buffer): void {
    let start = 0;
    while (start < data.length) {
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
        this.onFrame(line.endsWith('\r') ? line.slice(0, -1) : line);
      }
      this.#chunks = [];
      this.#length = 0;
      this.#skipping = false;
      start = nl + 1;
    }
  }
}

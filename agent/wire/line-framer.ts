/**
 * Splits a byte stream into newline-terminated frames of at most `maxBytes`. An oversized
 * frame is reported once and skipped up to its newline, so one bad client line never costs
 * more than `maxBytes` of memory and the connection goes on.
 *
 * A frame handler may return a byte count: that many raw bytes follow the line (a data frame
 * of a streamed answer) and go to `onRaw`, in pieces as they arrive.
 *
 * `ready` is asked before each frame: while it says no, the rest of the chunk is held unparsed
 * (`holding`) until `resume()`. The owner stops reading its source meanwhile, so a chunk of 200
 * pipelined requests is taken in as fast as they are answered, never all at once.
 */
export class LineFramer {
  #chunks: Buffer[] = [];
  #length = 0;
  #skipping = false;
  #rawLeft = 0;
  #held: Buffer | null = null;

  constructor(
    private readonly maxBytes: number,
    private readonly onFrame: (line: string) => number | void,
    private readonly onOversize: () => void,
    private readonly onRaw: (piece: Buffer) => void = () => undefined,
    private readonly ready: () => boolean = () => true,
  ) {}

  /** True while bytes wait for `resume()` because `ready` said no. */
  get holding(): boolean {
    return this.#held !== null;
  }

  push(data: Buffer): void {
    // Bytes that arrive while holding (the source was not stopped in time) wait behind the held ones.
    if (this.#held) this.#held = Buffer.concat([this.#held, data]);
    else this.#scan(data);
  }

  /** Goes on with the held bytes (it may hold again when `ready` says no). */
  resume(): void {
    const held = this.#held;
    if (held === null) return;
    this.#held = null;
    this.#scan(held);
  }

  #scan(data: Buffer): void {
    let start = 0;
    while (start < data.length) {
      if (this.#rawLeft > 0) {
        const piece = data.subarray(start, start + this.#rawLeft);
        this.#rawLeft -= piece.length;
        start += piece.length;
        this.onRaw(piece);
        continue;
      }
      if (this.#length === 0 && !this.#skipping && !this.ready()) {
        this.#held = data.subarray(start);
        return;
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

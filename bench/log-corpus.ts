import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';

/**
 * Realistic charge-controller log lines (pino NDJSON: meter values, OCPP messages, RFID tags,
 * transaction ids, addresses), deterministic for a seed, written as a rotated series of files.
 */
export async function writeLogCorpus(dir: string, totalBytes: number, fileBytes = 10 * 1000 * 1000, seed = 42): Promise<number> {
  let state = seed;
  const rnd = (): number => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const hex = (n: number): string =>
    Array.from({ length: n }, () => Math.floor(rnd() * 16).toString(16))
      .join('')
      .toUpperCase();
  const phases = (base: number, spread: number, digits: number): number[] => [0, 1, 2].map(() => +(base + rnd() * spread).toFixed(digits));
  const messages = [
    'MeterValues',
    'StatusNotification',
    'Heartbeat',
    'Authorize',
    'TransactionEvent',
    'session started',
    'session stopped',
    'RFID card presented',
    'contactor closed',
    'contactor opened',
    'PWM duty cycle set',
    'CP state changed',
  ] as const;
  let time = Date.parse('2026-11-01T00:00:00Z');
  let files = 0;
  for (let left = totalBytes; left > 0; left -= fileBytes, files++) {
    const out = createWriteStream(join(dir, files === 0 ? 'charging.log' : `charging.log.${files}`));
    let written = 0;
    const size = Math.min(fileBytes, left);
    while (written < size) {
      time += Math.floor(rnd() * 900);
      const msg = pick(messages);
      const line: Record<string, unknown> = {
        level: pick([30, 30, 30, 20, 40, 50]),
        time: new Date(time).toISOString(),
        pid: 812,
        msg,
        connector: 1 + Math.floor(rnd() * 2),
      };
      if (msg === 'MeterValues')
        Object.assign(line, { energyWh: Math.floor(rnd() * 1e6), powerW: Math.floor(rnd() * 22000), currentA: phases(0, 32, 2), voltageV: phases(228, 6, 1) });
      if (msg === 'RFID card presented' || msg === 'Authorize') Object.assign(line, { idTag: hex(8), reader: `vpcd ${rnd() < 0.5 ? 0 : 1}` });
      if (msg.startsWith('session') || msg === 'TransactionEvent') {
        Object.assign(line, {
          transactionId: `${hex(8)}-${hex(4)}-${hex(4)}-${hex(12)}`,
          remote: `10.${Math.floor(rnd() * 255)}.${Math.floor(rnd() * 255)}.${Math.floor(rnd() * 255)}`,
        });
      }
      if (msg === 'CP state changed')
        Object.assign(line, { from: pick(['A', 'B', 'C', 'D', 'E', 'F']), to: pick(['A', 'B', 'C', 'D', 'E', 'F']), cpVoltage: +(rnd() * 12).toFixed(2) });
      const text = `${JSON.stringify(line)}\n`;
      written += text.length;
      if (!out.write(text)) await once(out, 'drain');
    }
    out.end();
    await once(out, 'close');
  }
  return files;
}

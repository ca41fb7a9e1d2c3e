// CPU cost of the NTAG 424 DNA protocol itself (no reader, no pcscd): SELECT + AuthenticateEV2First
// + GetCardUID against the in-process simulated card, beside a bare UID read on the same
// transport as the reference. The reader's round trips come on top (see bench/rfid.ts).
//   npm run build && node dist/bench/ntag424.js
import { authenticateEV2First, selectNdefApplication } from '../rfid/ntag424/index.js';
import { SimulatedNtag424 } from '../test/support/ntag424-sim.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 2000);
const card = new SimulatedNtag424();
const key = Buffer.alloc(16);
const GET_UID = Buffer.from([0xff, 0xca, 0x00, 0x00, 0x00]);

const quantile = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] as number;

async function measure(what: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await what();
    times.push(performance.now() - started);
  }
  return times;
}

// The simulator answers GET DATA like any ISO command (90 00); only the exchange is measured.
const uidOnly = await measure(() => card.transport(GET_UID));
const secure = await measure(async () => {
  await selectNdefApplication(card.transport);
  const session = await authenticateEV2First(card.transport, 0, key);
  await session.getCardUid();
  session.close();
});
const fmt = (xs: number[]): string => `median ${(quantile(xs, 0.5) * 1000).toFixed(0)} µs, p99 ${(quantile(xs, 0.99) * 1000).toFixed(0)} µs`;
console.log(`runs: ${RUNS}`);
console.log(`UID-only exchange (reference): ${fmt(uidOnly)}`);
console.log(`SELECT + AuthenticateEV2First + GetCardUID (reader and simulated card side): ${fmt(secure)}`);
const added = quantile(secure, 0.5) - quantile(uidOnly, 0.5);
// Issue 18's budget: the authentication may add at most 150 ms to the UID-only path.
console.log(`added per placement (medians): ${(added * 1000).toFixed(0)} µs = ${((added / 150) * 100).toFixed(3)} % of the 150 ms budget`);

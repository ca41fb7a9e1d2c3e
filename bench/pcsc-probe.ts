// The reference for bench/rfid.ts: a bare `smartcard` script that prints a line when it has read
// a placed card's UID and when a card leaves, and nothing else.
import { Devices } from 'smartcard';

const devices = new Devices();
devices.on('card-inserted', ({ reader, card }) => {
  card.transmit(Buffer.from([0xff, 0xca, 0x00, 0x00, 0x00])).then(
    (response) => process.stdout.write(`${JSON.stringify({ event: 'present', reader: reader.name, bytes: response.length })}\n`),
    (err: Error) => process.stdout.write(`${JSON.stringify({ event: 'error', message: err.message })}\n`),
  );
});
devices.on('card-removed', ({ reader }) => process.stdout.write(`${JSON.stringify({ event: 'removed', reader: reader.name })}\n`));
devices.on('error', (err) => process.stdout.write(`${JSON.stringify({ event: 'error', message: err.message })}\n`));
devices.start();
process.on('SIGTERM', () => {
  devices.stop();
  process.exit(0);
});

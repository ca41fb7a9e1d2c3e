// Whether a log export is encrypted, refused or sent in clear (policy/log-export.ts): all eight
// combinations of the facts, and the rule that a set Log Password always encrypts.
import fc from 'fast-check';
import t from 'tap';
import { decideExportEncryption } from '../../../policy/log-export.js';

t.test('every combination of the facts', async (t) => {
  type Row = [encryptExports: boolean, logPasswordSet: boolean, unencryptedRequested: boolean, expected: string];
  const table: Row[] = [
    [true, true, false, 'encrypt'],
    [true, true, true, 'refused'],
    [true, false, true, 'clear:unencryptedRequested'],
    [true, false, false, 'refused'],
    // Encryption switched off in the config: in clear whatever else holds.
    [false, true, false, 'clear:encryptionOffInConfig'],
    [false, true, true, 'clear:encryptionOffInConfig'],
    [false, false, false, 'clear:encryptionOffInConfig'],
    [false, false, true, 'clear:encryptionOffInConfig'],
  ];
  for (const [encryptExports, logPasswordSet, unencryptedRequested, expected] of table) {
    const d = decideExportEncryption({ encryptExports, logPasswordSet, unencryptedRequested });
    const got = 'refused' in d ? 'refused' : d.encrypt ? 'encrypt' : `clear:${d.reason}`;
    t.equal(got, expected, JSON.stringify({ encryptExports, logPasswordSet, unencryptedRequested }));
  }
});

t.test('refusals say what to do', async (t) => {
  const withPassword = decideExportEncryption({ encryptExports: true, logPasswordSet: true, unencryptedRequested: true });
  t.match(withPassword, { refused: /leave out --unencrypted/ });
  const withoutPassword = decideExportEncryption({ encryptExports: true, logPasswordSet: false, unencryptedRequested: false });
  t.match(withoutPassword, { refused: /ccguard log-password set.*--unencrypted/ });
});

t.test('property: with encryption on in the config, a set Log Password is never bypassed and nothing leaves in clear unasked', async () => {
  fc.assert(
    fc.property(fc.boolean(), fc.boolean(), (logPasswordSet, unencryptedRequested) => {
      const d = decideExportEncryption({ encryptExports: true, logPasswordSet, unencryptedRequested });
      const clear = 'encrypt' in d && !d.encrypt;
      if (logPasswordSet && clear) return false;
      if (clear && !unencryptedRequested) return false;
      return true;
    }),
  );
});

// Whether a log export is encrypted, refused, or sent in clear (and why).

export type ExportEncryption = { encrypt: true } | { encrypt: false; reason: 'unencryptedRequested' | 'encryptionOffInConfig' } | { refused: string };

export function decideExportEncryption(facts: { encryptExports: boolean; logPasswordSet: boolean; unencryptedRequested: boolean }): ExportEncryption {
  const { encryptExports, logPasswordSet, unencryptedRequested } = facts;
  if (!encryptExports) return { encrypt: false, reason: 'encryptionOffInConfig' };
  if (logPasswordSet && unencryptedRequested) {
    return { refused: 'a Log Password is set, so exports are always encrypted with it; leave out --unencrypted' };
  }
  if (logPasswordSet) return { encrypt: true };
  if (unencryptedRequested) return { encrypt: false, reason: 'unencryptedRequested' };
  return {
    refused:
      'no Log Password is set, so the export cannot be encrypted: the manufacturer sets one with "ccguard log-password set"; ' +
      'to export the logs unencrypted anyway, give --unencrypted',
  };
}

/** Letters and digits a technician cannot confuse on a printed label: no 0/O/o, 1/l/I/i. */
export const LABEL_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ';
export const DEFAULT_PASSWORD_GROUPS = 4;
export const DEFAULT_PASSWORD_GROUP_LENGTH = 4;

/**
 * Builds a default password from uniformly random indices into LABEL_ALPHABET (the caller draws
 * them from a CSPRNG), grouped by hyphens for reading off a label: 16 symbols, ~92 bits.
 */
export function formatDefaultPassword(indices: readonly number[]): string {
  const expected = DEFAULT_PASSWORD_GROUPS * DEFAULT_PASSWORD_GROUP_LENGTH;
  if (indices.length !== expected) throw new RangeError(`expected ${expected} indices, got ${indices.length}`);
  const chars = indices.map((i) => {
    const c = LABEL_ALPHABET[i];
    if (c === undefined) throw new RangeError(`index ${i} is outside the alphabet`);
    return c;
  });
  const groups: string[] = [];
  for (let g = 0; g < DEFAULT_PASSWORD_GROUPS; g++) {
    groups.push(chars.slice(g * DEFAULT_PASSWORD_GROUP_LENGTH, (g + 1) * DEFAULT_PASSWORD_GROUP_LENGTH).join(''));
  }
  return groups.join('-');
}

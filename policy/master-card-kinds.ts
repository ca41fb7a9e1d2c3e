/** How a master card proves itself: `uidOnly` by its UID alone (copyable); `ntag424` by its AES key. */
export const MASTER_CARD_KINDS = ['uidOnly', 'ntag424'] as const;
export type MasterCardKind = (typeof MASTER_CARD_KINDS)[number];

/** What rfid.uidOnlyMasterCards lets a UID-only master card do. */
export const UID_ONLY_RULES = ['allow', 'tapOnly', 'refuse'] as const;
export type UidOnlyRule = (typeof UID_ONLY_RULES)[number];

/**
 * NTAG 424 DNA (and DESFire EV2/EV3) card protocol: AES-CMAC, AN10922 key diversification,
 * AuthenticateEV2First, secure messaging, GetCardUID, ChangeKey. Pure: the only I/O is the
 * injected transport, and the random source can be injected.
 */
export { authenticateEV2First, deriveSessionKeys, sessionVectors, MAX_KEY_NO, type AuthenticateOptions, type RandomSource } from './authenticate.js';
export { aesCmac } from './cmac.js';
export { diversifyAes128, diversifyCardKey, MAX_DIVERSIFICATION_INPUT } from './diversify.js';
export * from './errors.js';
export { getVersion, selectDesfireApplication, selectNdefApplication, NDEF_DF_NAME, type CardVersion, type VersionPart } from './plain-commands.js';
export { Session, type ChangeKeyOptions, type CommandMode, type ResponseMode, type SecureCommand, type SessionParams } from './session.js';
export { withTimeout, type Transport } from './transport.js';

// The part of the `smartcard` package's types the agent uses, for a build where the package is
// absent: it is an optionalDependency, and npm leaves it out when its native build fails (no
// libpcsclite-dev). tsconfig's "paths" takes the package's own types first when it is installed.
// Copied from smartcard 3.7 (MIT), dist/lib/types.d.ts and devices.d.ts.
import { EventEmitter } from 'node:events';

export interface TransmitOptions {
  maxRecvLength?: number;
  autoGetResponse?: boolean;
}

export interface CardStatus {
  state: number;
  protocol: number;
  atr: Buffer;
}

export interface CardInterface {
  readonly protocol: number;
  readonly connected: boolean;
  readonly atr: Buffer | null;
  transmit(command: Buffer | number[], options?: TransmitOptions): Promise<Buffer>;
  control(code: number, data?: Buffer | number[]): Promise<Buffer>;
  getStatus(): CardStatus;
  disconnect(disposition?: number): void;
  reconnect(shareMode?: number, protocol?: number, initialization?: number): Promise<number>;
}

export interface ReaderEventInfo {
  name: string;
  state?: number;
  atr?: Buffer | null;
}

export interface DeviceEvents {
  'reader-attached': (reader: ReaderEventInfo) => void;
  'reader-detached': (reader: ReaderEventInfo) => void;
  'card-inserted': (event: { reader: ReaderEventInfo; card: CardInterface }) => void;
  'card-removed': (event: { reader: ReaderEventInfo; card: CardInterface | null }) => void;
  error: (error: Error) => void;
}

export declare class Devices extends EventEmitter {
  start(): void;
  stop(): void;
  getCard(readerName: string): CardInterface | null;
  on<K extends keyof DeviceEvents>(event: K, listener: DeviceEvents[K]): this;
  once<K extends keyof DeviceEvents>(event: K, listener: DeviceEvents[K]): this;
  off<K extends keyof DeviceEvents>(event: K, listener: DeviceEvents[K]): this;
}

export interface ReaderInterface {
  readonly name: string;
  readonly state: number;
  readonly atr: Buffer | null;
  connect(shareMode?: number, protocol?: number): Promise<CardInterface>;
}

export interface ContextInterface {
  readonly isValid: boolean;
  listReaders(): ReaderInterface[];
  cancel(): void;
  close(): void;
}

export declare const Context: new () => ContextInterface;
export declare const SCARD_SHARE_SHARED: number;
export declare const SCARD_PROTOCOL_T0: number;
export declare const SCARD_PROTOCOL_T1: number;
export declare const SCARD_LEAVE_CARD: number;

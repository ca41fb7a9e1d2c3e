// @phc/format (the PHC string format the argon2 package uses) ships no types.
declare module '@phc/format' {
  export interface PhcObject {
    id: string;
    version?: number;
    params?: Record<string, string | number | Buffer>;
    salt?: Buffer;
    hash?: Buffer;
  }
  export function serialize(opts: PhcObject): string;
  export function deserialize(phcstr: string): PhcObject;
}

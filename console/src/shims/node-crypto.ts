/**
 * Browser stand-in for `node:crypto`: the shared domain code imports
 * `randomBytes` to mint ids on the server; the console never mints ids.
 */
export const randomBytes = (_size: number): never => {
  throw new Error("randomBytes is not available in the console; ids are minted by the daemon")
}

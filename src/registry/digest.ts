/** Content digests as the registry accepts them: sha256 only, lowercase hex. */
const SHA256 = /^sha256:([a-f0-9]{64})$/

export const isDigest = (s: string): boolean => SHA256.test(s)

/** The hex part of a valid sha256 digest, undefined otherwise. */
export const digestHex = (s: string): string | undefined => SHA256.exec(s)?.[1]

/** A reference is a digest when it has an algorithm prefix. */
export const looksLikeDigest = (reference: string): boolean => reference.includes(":")

/** OCI tag grammar. */
export const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/

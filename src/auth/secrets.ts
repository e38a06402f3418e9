import { createHash, timingSafeEqual } from "node:crypto"

/** Constant-time equality of two strings (by SHA-256 digest, so lengths leak nothing). */
export const constantTimeEqual = (a: string, b: string): boolean =>
  timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest())

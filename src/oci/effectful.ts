/** The two ways OCI code lifts promises into Effect: storage calls and data-path calls. */
import { Effect } from "effect"
import { type OciError, OciStorageError } from "./errors.js"
import { OciFailure } from "./transport.js"

/** A file-system step on `p`; any failure becomes an `OciStorageError` naming the operation. */
export const storage = <A>(operation: string, p: string, f: () => Promise<A>): Effect.Effect<A, OciStorageError> =>
  Effect.tryPromise({
    try: f,
    catch: (e) => new OciStorageError({ operation, path: p, reason: e instanceof Error ? e.message : String(e), cause: e })
  })

/** Runs data-path code, keeping typed failures and mapping the rest to `fallback`. */
export const dataPath = <A>(f: () => Promise<A>, fallback: (e: unknown) => OciError): Effect.Effect<A, OciError> =>
  Effect.tryPromise({ try: f, catch: (e) => (e instanceof OciFailure ? e.error : fallback(e)) })

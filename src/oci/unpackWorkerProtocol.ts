/**
 * The messages between the daemon and an unpack worker (ADR 0808). One operation at a time per worker
 * (a pull applies its layers in order); a fed layer's chunks and acknowledgements flow while its `feed`
 * operation is open. Failures cross as plain data and are rebuilt on the daemon side: a refusal with its
 * fields, a file-system error with its `code`/`syscall`/`path`.
 */
import type { Refusal, UnpackOptions, UnpackState } from "./unpackCore.js"

export type Request =
  | { readonly op: "open"; readonly id: number; readonly rootfs: string; readonly options: UnpackOptions }
  | { readonly op: "adopt"; readonly id: number; readonly state: UnpackState }
  | { readonly op: "file"; readonly id: number; readonly label: string; readonly file: string }
  /** Opens layer `label` fed by `chunk`s; answered once `end` or `abort` completed it. */
  | { readonly op: "feed"; readonly id: number; readonly label: string }
  | { readonly op: "chunk"; readonly data: Uint8Array }
  | { readonly op: "end" }
  | { readonly op: "abort" }
  | { readonly op: "finish"; readonly id: number }
  /** The worker thread's CPU priority (nice value; best effort): answered with the value it has then. */
  | { readonly op: "nice"; readonly id: number; readonly nice: number }
  /** Drops the unpacker: the worker goes back to the pool. */
  | { readonly op: "close" }

export type WireError =
  | { readonly kind: "refusal"; readonly refusal: Refusal }
  | {
    readonly kind: "fs"
    readonly message: string
    readonly syscall: string
    readonly code?: string
    readonly errno?: number
    readonly path?: string
    readonly dest?: string
  }
  | { readonly kind: "other"; readonly message: string }
  /** A fed layer stopped by `abort` without having failed before. */
  | { readonly kind: "aborted" }

export type Reply =
  | {
    readonly type: "done"
    readonly id: number
    readonly skipped: ReadonlyArray<string>
    readonly state: UnpackState
    /** The thread's nice value (answering `nice`). */
    readonly nice?: number
  }
  | { readonly type: "failed"; readonly id: number; readonly error: WireError }
  /** `bytes` of the fed layer went into the unpacker's input: the daemon may send that much more. */
  | { readonly type: "ack"; readonly bytes: number }
  /** The fed layer failed while chunks still arrive (its `feed` operation is answered at `end`/`abort`). */
  | { readonly type: "feedFailed"; readonly error: WireError }

/** A failure as data (the worker side); `refusal` tells the unpacker's own refusals. */
export const encodeError = (e: unknown, refusal: (e: unknown) => Refusal | undefined): WireError => {
  const r = refusal(e)
  if (r !== undefined) return { kind: "refusal", refusal: r }
  if (e instanceof Error && "syscall" in e && typeof e.syscall === "string") {
    return {
      kind: "fs",
      message: e.message,
      syscall: e.syscall,
      ...("code" in e && typeof e.code === "string" ? { code: e.code } : {}),
      ...("errno" in e && typeof e.errno === "number" ? { errno: e.errno } : {}),
      ...("path" in e && typeof e.path === "string" ? { path: e.path } : {}),
      ...("dest" in e && typeof e.dest === "string" ? { dest: e.dest } : {})
    }
  }
  return { kind: "other", message: e instanceof Error ? e.message : String(e) }
}

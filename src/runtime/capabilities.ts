/** Capability names of the replica spec → the bit mask the helper keeps (docs/adr/0104-capability-model.md). */
import { ADDABLE_CAPABILITIES, type CapabilityName, DEFAULT_CAPABILITIES } from "./types.js"

/** Linux capability numbers (include/uapi/linux/capability.h) of every name a spec may carry. */
export const CAPABILITY_NUMBERS: Readonly<Record<CapabilityName, number>> = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  FOWNER: 3,
  FSETID: 4,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  SETPCAP: 8,
  NET_BIND_SERVICE: 10,
  NET_BROADCAST: 11,
  NET_ADMIN: 12,
  NET_RAW: 13,
  IPC_LOCK: 14,
  SYS_CHROOT: 18,
  SYS_PTRACE: 19,
  SYS_NICE: 23,
  SYS_RESOURCE: 24,
  MKNOD: 27,
  LEASE: 28,
  AUDIT_WRITE: 29,
  SETFCAP: 31,
  WAKE_ALARM: 35,
  BLOCK_SUSPEND: 36,
  AUDIT_READ: 37
}

const KNOWN: ReadonlySet<string> = new Set<string>([...DEFAULT_CAPABILITIES, ...ADDABLE_CAPABILITIES])

export const isCapabilityName = (s: string): s is CapabilityName => KNOWN.has(s)

/** The mask as a JSON-safe integer (every number above is < 53). */
export const capabilityMask = (names: ReadonlyArray<CapabilityName>): number =>
  names.reduce((m, n) => m + (Math.floor(m / 2 ** CAPABILITY_NUMBERS[n]) % 2 === 1 ? 0 : 2 ** CAPABILITY_NUMBERS[n]), 0)

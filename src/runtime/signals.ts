/** Linux signal numbers and names (exit reasons, image `STOPSIGNAL`s, helper exits). */
/** Linux signal numbers by name (without `SIG`). */
export const SIGNALS: Readonly<Record<string, number>> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ILL: 4,
  TRAP: 5,
  ABRT: 6,
  BUS: 7,
  FPE: 8,
  KILL: 9,
  USR1: 10,
  SEGV: 11,
  USR2: 12,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
  STKFLT: 16,
  CHLD: 17,
  CONT: 18,
  STOP: 19,
  TSTP: 20,
  TTIN: 21,
  TTOU: 22,
  URG: 23,
  XCPU: 24,
  XFSZ: 25,
  VTALRM: 26,
  PROF: 27,
  WINCH: 28,
  IO: 29,
  PWR: 30,
  SYS: 31
}

const SIGNAL_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(SIGNALS).map(([name, n]) => [n, `SIG${name}`])
)

/** `9 (SIGKILL)`; a number without a name stays bare. */
export const signalLabel = (n: number): string => (SIGNAL_NAMES[n] === undefined ? String(n) : `${n} (${SIGNAL_NAMES[n]})`)

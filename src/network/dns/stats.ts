/** Counters of one DNS server (read through `DnsServer.stats()`). */
export interface DnsStats {
  /** Datagrams and TCP frames received. */
  received: number
  /** Responses sent (any rcode). */
  answered: number
  /** Dropped without a response: not a query we answer (malformed, QR=1, other opcode, 0 or 2+ questions). */
  malformed: number
  /** Dropped without a response: the source's token bucket was empty. */
  rateLimited: number
  /** Queries sent on to an upstream (one per client query). */
  forwarded: number
  /** SERVFAIL responses (resolve failure, every upstream failed or timed out, too many forwards in flight). */
  servfail: number
  /** UDP responses replaced by a truncated (TC) one because they exceeded the client's limit. */
  truncated: number
  /** Upstream datagrams dropped because they did not match the outstanding id and question. */
  upstreamMismatched: number
}

export const emptyStats = (): DnsStats => ({
  received: 0,
  answered: 0,
  malformed: 0,
  rateLimited: 0,
  forwarded: 0,
  servfail: 0,
  truncated: 0,
  upstreamMismatched: 0
})

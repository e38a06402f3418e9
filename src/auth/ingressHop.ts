/**
 * The secret the daemon's own ingress attaches when it forwards control-domain
 * traffic to the API, so the API can tell "the ingress, relaying a client"
 * from "any local process" (both are loopback peers). Random per process
 * (i.e. per boot), never persisted, never sent anywhere but the loopback API.
 */
import { randomBytes } from "node:crypto"
import { constantTimeEqual } from "./secrets.js"

export const INGRESS_HOP_HEADER = "x-denia-ingress-hop"

let secret: string | undefined

/** This process's hop secret (created on first use). */
export const ingressHopSecret = (): string => {
  if (secret === undefined) secret = randomBytes(32).toString("base64url")
  return secret
}

/** True when `value` is this process's hop secret (constant time). */
export const isIngressHop = (value: string | undefined): boolean =>
  value !== undefined && value.length > 0 && constantTimeEqual(value, ingressHopSecret())

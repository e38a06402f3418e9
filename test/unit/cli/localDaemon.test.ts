/**
 * Which daemons get a plain tar (ADR 0820): localhost, loopback and this host's own addresses, by
 * literal only; `DENIA_PUSH_COMPRESS=1` keeps compression; and the connection flags are found among
 * any push arguments.
 */
import type * as os from "node:os"
import { describe, expect, it } from "vitest"
import { connectionFlagsIn } from "../../../src/cli/client/leanConnection.js"
import { isLocalDaemonUrl, sendsPlainTar } from "../../../src/cli/client/localDaemon.js"

const interfaces = () =>
  ({
    lo: [{ address: "127.0.0.1" }],
    eth0: [{ address: "10.20.30.40" }, { address: "fd00::5" }]
  }) as unknown as ReturnType<typeof os.networkInterfaces>

describe("a daemon on this host", () => {
  it("is localhost, a loopback address or an address of this host's interfaces", () => {
    for (
      const url of [
        "http://localhost:7180",
        "http://127.0.0.1:7180",
        "http://127.9.8.7",
        "http://[::1]:7180",
        "https://10.20.30.40:7443",
        "http://[fd00::5]:1"
      ]
    ) {
      expect(isLocalDaemonUrl(url, interfaces), url).toBe(true)
    }
  })

  it("is not another address, any other name, or no URL", () => {
    for (
      const url of [
        "http://10.20.30.41:7180",
        "http://denia.example.invalid",
        "http://127.0.0.1.example.invalid",
        "http://[fd00::6]",
        "not a url"
      ]
    ) {
      expect(isLocalDaemonUrl(url, interfaces), url).toBe(false)
    }
  })

  it("gets a plain tar unless DENIA_PUSH_COMPRESS=1", () => {
    expect(sendsPlainTar("http://127.0.0.1:7180", {})).toBe(true)
    expect(sendsPlainTar("http://127.0.0.1:7180", { DENIA_PUSH_COMPRESS: "1" })).toBe(false)
    expect(sendsPlainTar("http://denia.example.invalid", {})).toBe(false)
  })
})

describe("connectionFlagsIn", () => {
  it("finds --url, --token and --profile among other flags, in both spellings", () => {
    expect(connectionFlagsIn(["push", "--create", "--url", "http://a:1", "--token=t", "--json"])).toEqual({
      url: "http://a:1",
      token: "t",
      profile: undefined
    })
    expect(connectionFlagsIn(["push", "--profile", "home"])).toEqual({ url: undefined, token: undefined, profile: "home" })
  })

  it("gives up on a flag given twice or without its value", () => {
    expect(connectionFlagsIn(["push", "--url", "a", "--url=b"])).toBeUndefined()
    expect(connectionFlagsIn(["push", "--token"])).toBeUndefined()
  })
})

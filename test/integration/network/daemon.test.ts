/**
 * The node network end to end with real replicas (privileged): a daemon
 * process with a test bridge runs `shop/db` (HTTP on 8080, a UDP echo on
 * 9000, both published as endpoints), `shop/client` and `other/intruder`,
 * whose replicas probe peers once a second and serve what they saw. Then the
 * daemon is SIGKILLed and restarted: no orphan namespace, veth or rule stays,
 * and the endpoints forward again. No traffic leaves this machine.
 */
import { execFileSync, spawn } from "node:child_process"
import { randomBytes, randomInt } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { busyboxBaseLayer } from "../../../scripts/test-images/images.js"
import type { ImageSpec } from "../../../scripts/test-images/layout.js"
import { ADMIN_TOKEN, type ChildRun, makeRequest, runCli, stopCliDaemon, waitFor } from "../../support/daemon.js"
import { getViaSocket, replicaSockets } from "../../support/deployments.js"
import { makeTestNetwork } from "../../support/network.js"
import { buildAndPush } from "../../support/ociImages.js"
import { freePort } from "../../support/ports.js"
import { makeTempDir } from "../../support/tempDir.js"
import { killServers, REACH_MS, udpPing } from "./harness.js"

const privileged = process.getuid?.() === 0
/** Namespaces the daemon keeps ready next to the three replicas' (network_pool_size). */
const POOL = 2
const sh = (cmd: string, args: ReadonlyArray<string>, input?: string) =>
  execFileSync(cmd, [...args], { encoding: "utf8", ...(input === undefined ? {} : { input }) })

const UDP_ECHO_C = `#include <arpa/inet.h>
#include <stdlib.h>
#include <sys/socket.h>
int main(int argc, char **argv) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(atoi(argc > 1 ? argv[1] : "9000")) };
  if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0) return 1;
  char buf[2048];
  for (;;) {
    struct sockaddr_in peer; socklen_t len = sizeof peer;
    ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&peer, &len);
    if (n >= 0) sendto(s, buf, (size_t)n, 0, (struct sockaddr *)&peer, len);
  }
}
`

/** Probes `$PROBES` (`name=url` words) once a second with wget and serves `ok <body>` / `fail` at `/<name>`. */
const PROBE_LOOP = [
  "mkdir -p /tmp/www; echo up > /tmp/www/index.html;",
  "(while true; do for p in $PROBES; do n=${p%%=*}; u=${p#*=};",
  "if /bin/busybox timeout 3 /bin/busybox wget -q -O /tmp/out \"$u\" 2>/tmp/err; then echo \"ok $(cat /tmp/out)\" > /tmp/www/$n.tmp; else echo \"fail $(cat /tmp/err)\" > /tmp/www/$n.tmp; fi;",
  "mv /tmp/www/$n.tmp /tmp/www/$n; done; sleep 1; done) &",
  "exec /bin/busybox httpd -f -p 8080 -h /tmp/www"
].join(" ")

/** A probe that failed for a network reason (refused, timed out), not because wget itself broke. */
const BLOCKED = /^fail(?!.*(Segmentation|not found|bad address))/

const probeImage = (): ImageSpec => ({ layers: [busyboxBaseLayer("gzip")], config: { Cmd: ["/bin/sh", "-c", PROBE_LOOP] } })

const dbImage = (udpEcho: string): ImageSpec => ({
  layers: [
    busyboxBaseLayer("gzip"),
    {
      compression: "gzip",
      entries: [
        { kind: "dir", path: "www" },
        { kind: "file", path: "www/index.html", content: "db says hi" },
        { kind: "file", path: "bin/udpecho", content: { file: udpEcho }, mode: 0o755 }
      ]
    }
  ],
  config: { Cmd: ["/bin/sh", "-c", "/bin/udpecho 9000 & exec /bin/busybox httpd -f -p 8080 -h /www"] }
})

describe.runIf(privileged)("node network with real replicas (privileged)", () => {
  const tn = makeTestNetwork()
  const temp = makeTempDir()
  const outsideNs = `dnx${randomBytes(3).toString("hex")}`
  const outsideHost = `dnxh${randomBytes(3).toString("hex")}`
  const outsideNet = tn.subnet.replace(/^10\.(\d+)\.(\d+)\.0\/24$/, (_m, a: string, b: string) => `10.${a}.${(Number(b) + 1) % 256}`)
  const gateway = tn.subnet.replace(/0\/24$/, "1")
  const tcpLow = 20000 + randomInt(0, 400) * 10
  const udpLow = tcpLow + 5000
  let env: Record<string, string>
  let url = ""
  let apiPort = 0
  let daemon: ChildRun | undefined
  let outsideLog = ""
  const ids: Record<string, string> = {}
  const deployments: Record<string, string> = {}
  let tcpPublic = 0
  let udpPublic = 0
  const request = (p: string, init?: Parameters<ReturnType<typeof makeRequest>>[1]) => makeRequest(url)(p, init)
  const json = async <T>(r: Response) => (await r.json()) as T

  const startDaemon = async () => {
    daemon = runCli([], env)
    await waitFor(async () => fetch(`${url}/healthz`).then((r) => r.ok).catch(() => false), 30_000)
  }
  const deploy = async (name: string) => {
    const dep = await json<{ id: string }>(await request(`/v1/services/${ids[name] ?? ""}/deployments`, { method: "POST", json: {} }))
    deployments[name] = dep.id
    let status = ""
    await waitFor(async () => {
      const d = await json<{ status: string; error?: string }>(await request(`/v1/deployments/${dep.id}`))
      status = d.status === "failed" ? `failed: ${d.error ?? ""}` : d.status
      return status === "healthy" || status.startsWith("failed")
    }, 90_000)
    expect(status).toBe("healthy")
  }
  /** What a probe replica last saw for `probe` (via its Unix socket). */
  const seen = async (service: string, probe: string) => {
    const sockets = replicaSockets(path.join(temp.dir, "data")).filter((s) => s.includes(deploymentDir(service)))
    if (sockets.length !== 1) return `${sockets.length} sockets`
    return getViaSocket(sockets[0] ?? "", `/${probe}`).then(
      (r) => (r.status === 200 ? r.body.trim() : `status ${r.status}`),
      (e: Error) => e.message
    )
  }
  const deploymentDir = (service: string) => `d${(deployments[service] ?? "").replace(/-/g, "").slice(-12)}`
  const eventuallySeen = async (service: string, probe: string, expected: RegExp) => {
    let last = ""
    await waitFor(async () => expected.test(last = await seen(service, probe)), 30_000).catch(() => undefined)
    expect(last).toMatch(expected)
  }
  const ourNamespaces = () =>
    sh("ip", ["netns", "list"]).split("\n").map((l) => l.split(" ")[0] ?? "").filter((n) => n.startsWith(`${tn.bridge}-`))
  const bridgePorts = () => sh("ip", ["-o", "link", "show", "master", tn.bridge]).split("\n").filter((l) => l.trim() !== "")
  const httpGet = (port: number) =>
    fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(3000) }).then((r) => r.text(), () => "unreachable")

  beforeAll(async () => {
    // the outside world: a namespace behind a veth pair with a private /30, serving HTTP and logging peers
    sh("ip", ["netns", "add", outsideNs])
    sh("ip", ["link", "add", outsideHost, "type", "veth", "peer", "name", "eth0", "netns", outsideNs])
    sh("ip", ["addr", "add", `${outsideNet}.1/30`, "dev", outsideHost])
    sh("ip", ["link", "set", outsideHost, "up"])
    sh("ip", ["-n", outsideNs, "addr", "add", `${outsideNet}.2/30`, "dev", "eth0"])
    sh("ip", ["-n", outsideNs, "link", "set", "eth0", "up"])
    fs.mkdirSync(path.join(temp.dir, "outside"))
    fs.writeFileSync(path.join(temp.dir, "outside", "index.html"), "outside")
    const httpd = spawn("ip", [
      "netns",
      "exec",
      outsideNs,
      "busybox",
      "httpd",
      "-f",
      "-v",
      "-p",
      "7100",
      "-h",
      path.join(temp.dir, "outside")
    ])
    httpd.stderr.on("data", (b: Buffer) => (outsideLog += b.toString()))
    afterAllKill.push(() => httpd.kill("SIGKILL"))
    execFileSync("gcc", ["-static", "-O2", "-o", path.join(temp.dir, "udpecho"), "-x", "c", "-"], { input: UDP_ECHO_C })

    apiPort = await freePort()
    url = `http://127.0.0.1:${apiPort}`
    env = {
      HOME: temp.dir,
      DENIA_CONFIG_FILE: path.join(temp.dir, "config.toml"),
      DENIA_DATA_DIR: path.join(temp.dir, "data"),
      // on every address, so the bridge address would answer if the rules let a replica through
      DENIA_BIND_ADDR: `0.0.0.0:${apiPort}`,
      DENIA_HTTP_PORT: String(await freePort()),
      DENIA_HTTPS_PORT: String(await freePort()),
      DENIA_ADMIN_TOKEN: ADMIN_TOKEN,
      DENIA_STOP_GRACE_SECONDS: "2",
      DENIA_NETWORK_MODE: "bridge",
      DENIA_NETWORK_BRIDGE: tn.bridge,
      DENIA_NETWORK_SUBNET: tn.subnet,
      DENIA_NETWORK_POOL_SIZE: String(POOL),
      DENIA_TCP_PORT_RANGE: `${tcpLow}-${tcpLow + 9}`,
      DENIA_UDP_PORT_RANGE: `${udpLow}-${udpLow + 9}`
    }
    await startDaemon()
    const shop = await json<{ id: string }>(await request("/v1/projects", { method: "POST", json: { name: "shop" } }))
    const other = await json<{ id: string }>(await request("/v1/projects", { method: "POST", json: { name: "other" } }))
    const probes = (list: ReadonlyArray<string>) => ({ PROBES: list.join(" ") })
    const services: ReadonlyArray<[string, string, Record<string, unknown>]> = [
      ["db", shop.id, { endpoints: [{ protocol: "tcp", port: 8080 }, { protocol: "udp", port: 9000 }] }],
      ["client", shop.id, {
        env: probes([
          "byname=http://db:8080/",
          "byfqdn=http://db.shop.internal:8080/",
          `outside=http://${outsideNet}.2:7100/`,
          `hostapi=http://${gateway}:${apiPort}/healthz`
        ])
      }],
      ["intruder", other.id, { env: probes(["db=http://db.shop.internal:8080/", `hostapi=http://${gateway}:${apiPort}/healthz`]) }]
    ]
    for (const [name, projectId, extra] of services) {
      const created = await request("/v1/services", {
        method: "POST",
        json: { projectId, name, source: { type: "hosted", tag: "v1" }, port: 8080, health: { path: "/", timeoutSeconds: 30 }, ...extra }
      })
      expect(created.status).toBe(201)
      const body = await json<{ id: string; endpoints: ReadonlyArray<{ protocol: string; publicPort: number }> }>(created)
      ids[name] = body.id
      if (name === "db") {
        tcpPublic = body.endpoints.find((e) => e.protocol === "tcp")?.publicPort ?? 0
        udpPublic = body.endpoints.find((e) => e.protocol === "udp")?.publicPort ?? 0
      }
      const project = projectId === shop.id ? "shop" : "other"
      const creds = { credentials: { username: "admin", password: ADMIN_TOKEN } }
      await buildAndPush(
        name === "db" ? dbImage(path.join(temp.dir, "udpecho")) : probeImage(),
        `127.0.0.1:${apiPort}`,
        `${project}/${name}`,
        "v1",
        creds
      )
      await deploy(name)
    }
  }, 300_000)

  const afterAllKill: Array<() => void> = []
  afterAll(async () => {
    // SIGTERM: the daemon stops its replicas (a SIGKILL here would leave them running)
    await stopCliDaemon(daemon)
    for (const k of afterAllKill) k()
    killServers()
    await tn.cleanup()
    execFileSync("ip", ["-force", "-batch", "-"], { input: `link del ${outsideHost}\nnetns del ${outsideNs}\n` })
    temp.cleanup()
  })

  it("lets a replica reach a server outside the node through NAT", async () => {
    await eventuallySeen("client", "outside", /^ok outside$/)
    expect(outsideLog).toContain(`${outsideNet}.1`)
    expect(outsideLog).not.toContain(tn.subnet.replace(/\.0\/24$/, "."))
  })

  it("lets services of one project talk by <service> and <service>.<project>.internal", async () => {
    await eventuallySeen("client", "byname", /^ok db says hi$/)
    await eventuallySeen("client", "byfqdn", /^ok db says hi$/)
  })

  it("keeps another project's replica away from them, and every replica away from the daemon API", async () => {
    await eventuallySeen("intruder", "db", BLOCKED)
    await eventuallySeen("intruder", "hostapi", BLOCKED)
    await eventuallySeen("client", "hostapi", BLOCKED)
    // the same targets answer the host: the failures are the isolation, not a broken target
    expect(await fetch(`http://${gateway}:${apiPort}/healthz`).then((r) => r.status)).toBe(200)
  })

  it("forwards the TCP and UDP endpoints from the host", async () => {
    expect(tcpPublic).toBeGreaterThanOrEqual(tcpLow)
    await waitFor(async () => (await httpGet(tcpPublic)) === "db says hi", 15_000).catch(() => undefined)
    expect(await httpGet(tcpPublic)).toBe("db says hi")
    expect(await udpPing(null, "127.0.0.1", udpPublic, undefined, REACH_MS)).toBe("GOT ping")
    const service = await json<{ status?: { network?: string } }>(await request(`/v1/services/${ids.db ?? ""}`))
    expect(service.status?.network).toMatch(new RegExp(`^bridge ${tn.bridge} `))
  })

  it("after SIGKILL and a restart leaves no orphan namespace, veth or rule, and forwards again", async () => {
    const before = ourNamespaces()
    expect(before.length).toBe(3 + POOL)
    daemon?.child.kill("SIGKILL")
    await daemon?.exited
    await startDaemon()
    // every service comes back (new replicas), the pool is full again, the old namespaces and veths are gone
    await waitFor(async () => {
      const now = ourNamespaces()
      return now.length === 3 + POOL && now.every((n) => !before.includes(n)) && bridgePorts().length === 3 + POOL
    }, 90_000).catch(() => undefined)
    const after = ourNamespaces()
    expect(after.filter((n) => before.includes(n))).toEqual([])
    expect(after.length).toBe(3 + POOL)
    expect(bridgePorts().length).toBe(3 + POOL)
    await waitFor(async () => (await httpGet(tcpPublic)) === "db says hi", 30_000).catch(() => undefined)
    expect(await httpGet(tcpPublic)).toBe("db says hi")
    const table = sh("nft", ["list", "table", "inet", `denia_${tn.bridge}`])
    expect(table.match(/hook ingress/g)?.length).toBe(3 + POOL)
  })
})

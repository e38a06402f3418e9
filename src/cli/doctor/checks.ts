/**
 * Host checks for `denia doctor`. Each returns ok/warn/fail with a fix; none
 * needs root, and none changes the host beyond a temp dir it removes.
 */
import { Schema } from "effect"
import { spawnSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { parseAddress } from "../../config/fields.js"
import type { LoadedConfig } from "../../config/load.js"

export type Level = "ok" | "warn" | "fail"
export interface CheckResult {
  readonly name: string
  readonly level: Level
  readonly detail: string
  readonly fix?: string
}

const result = (name: string, level: Level, detail: string, fix?: string): CheckResult =>
  fix === undefined ? { name, level, detail } : { name, level, detail, fix }

export const checkKernel = (release: string = os.release()): CheckResult => {
  const [major = 0, minor = 0] = release.split(/[.-]/).map(Number)
  return major > 5 || (major === 5 && minor >= 11)
    ? result("kernel", "ok", `${release} (>= 5.11)`)
    : result("kernel", "fail", `${release} is older than 5.11`, "upgrade to a kernel >= 5.11 (overlay in user namespaces, cgroup.kill)")
}

const readTrim = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, "utf8").trim()
  } catch {
    return undefined
  }
}

export const checkUserNamespaces = (): CheckResult => {
  const max = Number(readTrim("/proc/sys/user/max_user_namespaces") ?? "0")
  if (max <= 0) return result("user namespaces", "fail", "user.max_user_namespaces is 0", "sysctl -w user.max_user_namespaces=15000")
  const probe = spawnSync("unshare", ["--user", "--map-root-user", "true"], { stdio: "ignore", timeout: 5000 })
  return probe.status === 0
    ? result("user namespaces", "ok", `available (max ${max})`)
    : result(
      "user namespaces",
      "fail",
      "unshare --user failed",
      "enable unprivileged user namespaces (kernel.unprivileged_userns_clone=1) or run the daemon as root"
    )
}

export const checkOverlay = (): CheckResult => {
  const filesystems = readTrim("/proc/filesystems") ?? ""
  const known = /\boverlay\b/.test(filesystems)
  if (!known) {
    const load = spawnSync("modprobe", ["-n", "overlay"], { stdio: "ignore" })
    if (load.status !== 0) return result("overlayfs", "fail", "overlay filesystem not available", "modprobe overlay")
  }
  if (process.getuid?.() !== 0) return result("overlayfs", "ok", "known to the kernel (mount not tried: not root)")
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "denia-doctor-"))
  try {
    for (const d of ["lower", "upper", "work", "merged"]) fs.mkdirSync(path.join(dir, d))
    const mount = spawnSync(
      "mount",
      ["-t", "overlay", "overlay", "-o", `lowerdir=${dir}/lower,upperdir=${dir}/upper,workdir=${dir}/work`, `${dir}/merged`],
      { stdio: "ignore" }
    )
    if (mount.status !== 0) {
      return result(
        "overlayfs",
        "fail",
        "mounting an overlay failed",
        "check that the data dir is not itself on overlayfs without xino support; modprobe overlay"
      )
    }
    spawnSync("umount", [`${dir}/merged`], { stdio: "ignore" })
    return result("overlayfs", "ok", "mountable")
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const tryBind = (host: string, port: number): Promise<string | undefined> =>
  new Promise((resolve) => {
    const server = net.createServer()
    server.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message))
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)))
  })

const probeTimeoutMs = 2000

const isHealthy = Schema.is(Schema.Struct({ status: Schema.Literal("ok") }))

/** Whether `url` answers like Denia: `GET /healthz` → 200 `{"status":"ok"}`. */
export const answersLikeDenia = async (url: string): Promise<boolean> => {
  try {
    const r = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(probeTimeoutMs) })
    const body: unknown = await r.json()
    return r.status === 200 && isHealthy(body)
  } catch {
    return false
  }
}

/** Whether the HTTP ingress on `port` answers an unknown host the way Denia's does. */
export const ingressLikeDenia = async (port: number): Promise<boolean> => {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/`, {
      headers: { host: "denia-doctor.invalid" },
      signal: AbortSignal.timeout(probeTimeoutMs),
      redirect: "manual"
    })
    return r.status === 404 && (await r.text()) === "no route for this host\n"
  } catch {
    return false
  }
}

const loopback = (host: string): string => (host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host)

/**
 * Ports: free is ok; in use by this config's own daemon (its API answers
 * /healthz like Denia, and the HTTP port answers like Denia's ingress) is ok
 * too, said as such; in use by something else is a warning.
 */
export const checkPorts = async (config: LoadedConfig): Promise<ReadonlyArray<CheckResult>> => {
  const api = parseAddress(config.values.bindAddr)
  const apiHost = api?.host ?? "127.0.0.1"
  const apiPort = api?.port ?? 7180
  const targets: Array<[string, string, number]> = [
    ["api port", apiHost, apiPort],
    ["http port", "0.0.0.0", config.values.httpPort],
    ["https port", "0.0.0.0", config.values.httpsPort]
  ]
  const binds = await Promise.all(targets.map(([, host, port]) => tryBind(host, port)))
  const apiIsDenia = binds[0] === "EADDRINUSE" &&
    (await answersLikeDenia(`http://${loopback(apiHost).includes(":") ? `[${loopback(apiHost)}]` : loopback(apiHost)}:${apiPort}`))
  const httpIsDenia = apiIsDenia && binds[1] === "EADDRINUSE" && (await ingressLikeDenia(config.values.httpPort))
  return targets.map(([name, host, port], i) => {
    const error = binds[i]
    if (error === undefined) return result(name, "ok", `${host}:${port} is free`)
    if (error === "EADDRINUSE") {
      // the HTTPS port is Denia's when its API and HTTP ingress are (a TLS probe would need a hostname with a certificate)
      const ours = i === 0 ? apiIsDenia : httpIsDenia
      if (ours) return result(name, "ok", `${host}:${port} is served by the running Denia daemon`)
      return result(
        name,
        "warn",
        `${host}:${port} is in use by another program`,
        "stop what listens there or change the port in the config"
      )
    }
    if (error === "EACCES") return result(name, "fail", `${host}:${port} needs privileges`, "run as root or grant CAP_NET_BIND_SERVICE")
    return result(name, "fail", `${host}:${port}: ${error}`)
  })
}

export const checkDataDir = (dataDir: string): CheckResult => {
  try {
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    const probe = path.join(dataDir, `.doctor-${process.pid}`)
    fs.writeFileSync(probe, "ok")
    fs.rmSync(probe)
    return result("data dir", "ok", `${dataDir} is writable`)
  } catch (e) {
    return result("data dir", "fail", `${dataDir}: ${(e as Error).message}`, "create it and give the daemon's user write access")
  }
}

export const checkBinary = (name: string, purpose: string, fix: string): CheckResult => {
  const found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" })
  return found.status === 0
    ? result(name, "ok", found.stdout.trim())
    : result(name, "warn", `not found (${purpose})`, fix)
}

/**
 * A Git server over SSH on 127.0.0.1: Debian's sshd with a temp config, a
 * fresh host key, one authorized deploy key for root, and a forced command
 * that only runs git-upload-pack. `rekey()` swaps the host key (a server
 * whose key changed).
 */
import { execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { freePort } from "../ports.js"

export interface GitSshServer {
  readonly url: (bareRepo: string) => string
  readonly port: number
  /** The client's private deploy key (OpenSSH format). */
  readonly deployKey: string
  /** Another private key that is not authorized. */
  readonly strangerKey: string
  /** SHA256 fingerprint of the current host key. */
  readonly hostFingerprint: () => string
  /** Replaces the host key and restarts sshd on the same port. */
  readonly rekey: () => Promise<void>
  readonly close: () => Promise<void>
}

const keygen = (file: string) => execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file], { stdio: "ignore" })

const waitForPort = async (port: number) => {
  const net = await import("node:net")
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.destroy()
        resolve(true)
      })
      s.on("error", () => resolve(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`sshd did not listen on ${port}`)
}

export const startGitSshServer = async (dir: string): Promise<GitSshServer> => {
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 })
  const port = await freePort()
  const hostKey = path.join(dir, "ssh_host_ed25519_key")
  const clientKey = path.join(dir, "deploy_key")
  const strangerKey = path.join(dir, "stranger_key")
  keygen(hostKey)
  keygen(clientKey)
  keygen(strangerKey)
  fs.writeFileSync(path.join(dir, "authorized_keys"), fs.readFileSync(`${clientKey}.pub`), { mode: 0o600 })
  const forced = path.join(dir, "upload-pack-only.sh")
  fs.writeFileSync(
    forced,
    [
      "#!/bin/sh",
      "case \"$SSH_ORIGINAL_COMMAND\" in",
      "  \"git-upload-pack \"*) exec git-shell -c \"$SSH_ORIGINAL_COMMAND\" ;;",
      "  *) echo 'only git-upload-pack is allowed' >&2; exit 1 ;;",
      "esac",
      ""
    ].join("\n"),
    { mode: 0o755 }
  )
  const config = path.join(dir, "sshd_config")
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${hostKey}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "UsePAM no",
      "StrictModes no",
      "PermitRootLogin prohibit-password",
      "AllowUsers root",
      "AllowTcpForwarding no",
      "X11Forwarding no",
      "PermitTTY no",
      `ForceCommand ${forced}`,
      "LogLevel ERROR",
      ""
    ].join("\n")
  )
  let child = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] })
  await waitForPort(port)
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once("close", () => resolve())
      child.kill("SIGTERM")
    })
  const fingerprint = () => {
    const out = execFileSync("ssh-keygen", ["-l", "-E", "sha256", "-f", `${hostKey}.pub`]).toString("utf8")
    return out.split(" ")[1] ?? ""
  }
  return {
    url: (bare) => `ssh://root@127.0.0.1:${port}${bare}`,
    port,
    deployKey: fs.readFileSync(clientKey, "utf8"),
    strangerKey: fs.readFileSync(strangerKey, "utf8"),
    hostFingerprint: fingerprint,
    rekey: async () => {
      await stop()
      fs.rmSync(hostKey)
      fs.rmSync(`${hostKey}.pub`)
      keygen(hostKey)
      child = spawn("/usr/sbin/sshd", ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] })
      await waitForPort(port)
    },
    close: stop
  }
}

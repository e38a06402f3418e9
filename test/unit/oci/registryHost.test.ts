import { describe, expect, it } from "vitest"
import { normalizeRegistryHost, sameRegistryHost } from "../../../src/oci/registryHost.js"

describe("registry host matching for credentials", () => {
  it("folds Docker Hub aliases, case and the default HTTPS port", () => {
    for (const alias of ["docker.io", "index.docker.io", "registry-1.docker.io", "Docker.IO:443"]) {
      expect(normalizeRegistryHost(alias)).toBe("docker.io")
    }
    expect(sameRegistryHost("ghcr.io", "GHCR.io:443")).toBe(true)
    expect(sameRegistryHost("registry.example:5000", "registry.example:5000")).toBe(true)
  })

  it("does not match another host, another port or a suffix", () => {
    expect(sameRegistryHost("registry.example:5000", "registry.example:5001")).toBe(false)
    expect(sameRegistryHost("registry.example:5000", "registry.example")).toBe(false)
    expect(sameRegistryHost("ghcr.io", "attacker.example")).toBe(false)
    expect(sameRegistryHost("example.com", "evil-example.com")).toBe(false)
    expect(sameRegistryHost("docker.io", "ghcr.io")).toBe(false)
  })
})

/**
 * Headless Debian Chromium driven by playwright-core, with the flags this
 * machine needs (no sandbox as root, no background networking on a closed
 * network) and a fresh profile directory per launch.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { type BrowserContext, chromium } from "playwright-core"
import { repoRoot } from "../../support/daemon.js"
import { makeTempDir } from "../../support/tempDir.js"

export const CHROMIUM = "/usr/bin/chromium"
export const resultsDir = path.join(repoRoot, "test-results", "console")

export interface LaunchedBrowser {
  readonly context: BrowserContext
  readonly close: () => Promise<void>
}

/** A persistent context on a new, empty profile directory (playwright's way to pass --user-data-dir). */
export const launchChromium = async (options: { readonly width?: number; readonly height?: number } = {}): Promise<LaunchedBrowser> => {
  const profile = makeTempDir("denia-chromium-")
  const context = await chromium.launchPersistentContext(profile.dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: options.width ?? 1280, height: options.height ?? 860 },
    colorScheme: "light",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ]
  })
  return {
    context,
    close: async () => {
      await context.close()
      profile.cleanup()
    }
  }
}

export const screenshotPath = (name: string): string => {
  fs.mkdirSync(resultsDir, { recursive: true })
  return path.join(resultsDir, `${name}.png`)
}

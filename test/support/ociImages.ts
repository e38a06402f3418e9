/**
 * Test-facing helpers over scripts/test-images: build a layout in a temp dir
 * and push it to a running registry in one call.
 */
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import {
  type BuiltTag,
  type ImageSpec,
  type IndexSpec,
  pushLayout,
  type PushOptions,
  writeOciLayout
} from "../../scripts/test-images/layout.js"

export * from "../../scripts/test-images/index.js"

/**
 * Builds `spec` and pushes it as `<registryHost>/<repository>:<tag>`;
 * returns the built digests. The layout is removed afterwards.
 */
export const buildAndPush = async (
  spec: ImageSpec | IndexSpec,
  registryHost: string,
  repository: string,
  tag: string,
  options: PushOptions = {}
): Promise<BuiltTag> => {
  const layout = await fs.mkdtemp(path.join(os.tmpdir(), "denia-layout-"))
  try {
    const built = await writeOciLayout(layout, spec, tag)
    await pushLayout(layout, tag, registryHost, `${repository}:${tag}`, options)
    return built
  } finally {
    await fs.rm(layout, { recursive: true, force: true })
  }
}

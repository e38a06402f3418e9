/**
 * Unpacks a stored upload into a fresh build-context directory: the archive is checked again on the way
 * (rules.ts, through the tar header gate) and GNU `tar -x` writes only the entries the gate accepted,
 * with names it normalized and modes without set-id bits; nothing is ever written through a symbolic
 * link (the rules refuse entries below links and files).
 */
import * as fs from "node:fs/promises"
import { scanArchive, type ScanResult, type UploadFormat } from "./archive.js"
import type { ArchiveCaps } from "./rules.js"

export const unpackArchive = async (
  file: string,
  format: UploadFormat,
  caps: ArchiveCaps,
  dest: string,
  tarPipeHelper?: string
): Promise<ScanResult> => {
  await fs.mkdir(dest, { recursive: true, mode: 0o755 })
  return scanArchive({ file }, format, caps, dest, tarPipeHelper)
}

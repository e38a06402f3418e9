/**
 * A volume as a tar stream (ADR 0902): GNU tar walks it (symlinks stored as links and never followed,
 * hard links kept as links, ownership shifted back to the ids the container sees, devices, fifos and
 * sockets left out) and `zstd -T0` compresses when asked; see platform/archive/packTar.ts. A file that
 * changes size while it is read (a live copy) is stored with the size it had when its header was
 * written: cut, or padded with zeros.
 */
import { type IdShift, type PackedTar, type PackSink, packTar } from "../platform/archive/packTar.js"

export type { IdShift, PackedTar, PackSink } from "../platform/archive/packTar.js"

/** Starts the backup stream of the volume at `root` (entries named `./…`). */
export const packVolume = (root: string, compress: "none" | "zstd", shift: IdShift | undefined, sink?: PackSink): Promise<PackedTar> =>
  packTar(root, compress, shift, sink)

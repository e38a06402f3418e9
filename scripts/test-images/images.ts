/**
 * Canned test images built from Debian's busybox-static (`/bin/busybox`).
 * Each function returns a spec for `writeOciLayout`.
 */
import type { ImageSpec, IndexSpec, LayerEntry, LayerSpec } from "./layout.js"

export const BUSYBOX = "/bin/busybox"

const applets = ["sh", "ls", "cat", "echo", "id", "env", "sleep", "true", "false", "wget", "httpd"]

export const PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "app:x:1000:1000:app user:/home/app:/bin/sh",
  "svc:x:2000:2500:service:/srv:/bin/sh",
  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false",
  ""
].join("\n")

export const GROUP = ["root:x:0:", "wheel:x:10:app", "app:x:1000:", "svcgrp:x:2500:", "staff:x:50:app,svc", "nogroup:x:65534:", ""].join(
  "\n"
)

/** A minimal root filesystem: busybox with applet symlinks, /etc/passwd and /etc/group. */
export const busyboxBaseLayer = (compression: LayerSpec["compression"] = "gzip"): LayerSpec => ({
  compression,
  entries: [
    { kind: "dir", path: "bin" },
    { kind: "dir", path: "etc" },
    { kind: "dir", path: "tmp", mode: 0o1777 },
    { kind: "dir", path: "root", mode: 0o700 },
    { kind: "dir", path: "home" },
    { kind: "dir", path: "home/app", mode: 0o750, uid: 1000, gid: 1000 },
    { kind: "file", path: "bin/busybox", content: { file: BUSYBOX }, mode: 0o755 },
    ...applets.map((a): LayerEntry => ({ kind: "symlink", path: `bin/${a}`, target: "busybox" })),
    { kind: "file", path: "etc/passwd", content: PASSWD },
    { kind: "file", path: "etc/group", content: GROUP }
  ]
})

/** One-layer busybox image; `config` overrides USER/Cmd etc. */
export const busyboxImage = (
  config: ImageSpec["config"] = { Cmd: ["/bin/sh"] },
  compression: LayerSpec["compression"] = "gzip"
): ImageSpec => ({
  layers: [busyboxBaseLayer(compression)],
  config
})

/**
 * Three layers (gzip, plain tar, zstd) exercising whiteouts, an opaque
 * directory, a hardlink and symlinks, with a non-root USER.
 *
 * Expected rootfs:
 *  - /data/keep.txt "keep", /data/a.txt "a-v1", /data/a-hardlink (same inode as a.txt)
 *  - /data/rel-link → a.txt, /data/abs-link → /data/a.txt
 *  - /data/gone.txt removed (whiteout), /data/gone-dir removed (whiteout)
 *  - /opt/app: only new.txt (opaque dir hides old.txt and old-sub/)
 *  - /etc/motd "layer3" (replaced)
 */
export const multiLayerImage = (): ImageSpec => ({
  layers: [
    busyboxBaseLayer("gzip"),
    {
      compression: "none",
      entries: [
        { kind: "dir", path: "data", mode: 0o755, uid: 1000, gid: 1000 },
        { kind: "file", path: "data/keep.txt", content: "keep", uid: 1000, gid: 1000 },
        { kind: "file", path: "data/a.txt", content: "a-v1", mode: 0o640, uid: 1000, gid: 1000 },
        { kind: "hardlink", path: "data/a-hardlink", target: "data/a.txt" },
        { kind: "symlink", path: "data/rel-link", target: "a.txt" },
        { kind: "symlink", path: "data/abs-link", target: "/data/a.txt" },
        { kind: "file", path: "data/gone.txt", content: "gone" },
        { kind: "dir", path: "data/gone-dir" },
        { kind: "file", path: "data/gone-dir/inner.txt", content: "inner" },
        { kind: "dir", path: "opt/app" },
        { kind: "file", path: "opt/app/old.txt", content: "old" },
        { kind: "dir", path: "opt/app/old-sub" },
        { kind: "file", path: "opt/app/old-sub/x", content: "x" },
        { kind: "file", path: "etc/motd", content: "layer2" }
      ]
    },
    {
      compression: "zstd",
      entries: [
        { kind: "whiteout", path: "data/gone.txt" },
        { kind: "whiteout", path: "data/gone-dir" },
        { kind: "opaque", dir: "opt/app" },
        { kind: "file", path: "opt/app/new.txt", content: "new" },
        { kind: "file", path: "etc/motd", content: "layer3" }
      ]
    }
  ],
  config: {
    User: "app",
    Entrypoint: ["/bin/sh", "-c"],
    Cmd: ["echo hello"],
    Env: ["PATH=/bin", "GREETING=hi"],
    WorkingDir: "/home/app",
    ExposedPorts: ["8080/tcp", "5353/udp"],
    Labels: { "org.denia.test": "multi" }
  }
})

/** An index with linux/amd64 and linux/arm64 images; each carries /platform naming its arch. */
export const twoPlatformIndex = (): IndexSpec => ({
  index: (["amd64", "arm64"] as const).map(
    (arch): ImageSpec => ({
      architecture: arch,
      ...(arch === "arm64" ? { variant: "v8" } : {}),
      layers: [
        busyboxBaseLayer("gzip"),
        { compression: "gzip", entries: [{ kind: "file", path: "platform", content: arch }] }
      ],
      config: { Cmd: ["/bin/cat", "/platform"] }
    })
  )
})

/** Random-content image of about `totalMb` MB over `layers` layers (benchmarks, RSS checks). */
export const largeImage = (totalMb: number, layers = 5, filesPerLayer = 8): ImageSpec => {
  const perFile = Math.max(1, Math.floor((totalMb * 1024 * 1024) / (layers * filesPerLayer)))
  return {
    layers: [
      busyboxBaseLayer("gzip"),
      ...Array.from({ length: layers }, (_, l): LayerSpec => ({
        compression: "gzip",
        entries: [
          { kind: "dir", path: `data/l${l}` },
          ...Array.from({ length: filesPerLayer }, (_, f): LayerEntry => ({
            kind: "file",
            path: `data/l${l}/f${f}.bin`,
            content: { randomBytes: perFile }
          }))
        ]
      }))
    ],
    config: { Cmd: ["/bin/sh"] }
  }
}

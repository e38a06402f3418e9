/** Busybox httpd images for deployment tests, pushed into Denia's hosted registry. */
import { busyboxBaseLayer } from "../../scripts/test-images/images.js"
import type { ImageSpec } from "../../scripts/test-images/layout.js"
import { ADMIN_TOKEN } from "./daemon.js"
import { buildAndPush } from "./ociImages.js"

/** `httpd` on port 8080 serving `/www` with an index page saying `body` and `/env.txt` (its environment). */
export const httpdImage = (body: string, startDelaySeconds = 0): ImageSpec => ({
  layers: [
    busyboxBaseLayer("gzip"),
    {
      compression: "gzip",
      entries: [
        { kind: "dir", path: "www", mode: 0o777 },
        { kind: "file", path: "www/index.html", content: body }
      ]
    }
  ],
  // Records its environment at /env.txt, then serves /www.
  config: {
    Cmd: ["/bin/sh", "-c", `env > /www/env.txt; sleep ${startDelaySeconds}; exec /bin/busybox httpd -f -v -p 8080 -h /www`],
    Env: ["GREETING=from-image"]
  }
})

/** Pushes an httpd image as `<project>/<service>:<tag>` into the daemon at `address` (host:port). */
export const pushHttpd = (address: string, repository: string, tag: string, body: string, startDelaySeconds = 0) =>
  buildAndPush(httpdImage(body, startDelaySeconds), address, repository, tag, { credentials: { username: "admin", password: ADMIN_TOKEN } })

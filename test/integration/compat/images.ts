/**
 * The compatibility images: built from real Debian packages the way official
 * images are (one shared mmdebstrap root, so CI builds it once), each with the
 * convention a first-time user's image relies on. Every image carries
 * `denia-probe`, which prints what the sandbox looks like from inside as
 * `probe[<uid>]: key=value` lines into the service log.
 */
import type { DebianImageSpec } from "../../support/debianImages.js"

/** One package list for all compat images (and the nginx benchmark): one cached root. */
export const COMPAT_PACKAGES: ReadonlyArray<string> = ["gosu", "nginx-light", "procps", "python3", "redis-server", "redis-tools"]

/** The engine-default capability mask (CHOWN … SETFCAP), as /proc/self/status prints it. */
export const DEFAULT_CAPS = "00000000a80425fb"
export const NO_CAPS = "0000000000000000"

const PROBE = `#!/bin/sh
# What the sandbox looks like from inside: one "probe[<uid>]: key=value" line each.
t=$(id -u)
p() { echo "probe[$t]: $1"; }
p "uid=$(id -u)"
p "user=$(id -un)"
p "home=$HOME"
p "cwd=$(pwd)"
for kv in $(sed -n -E 's/^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):[[:space:]]+(.*)$/\\1=\\2/p' /proc/self/status); do p "$kv"; done
if [ -e /proc/kcore ]; then p "kcore=$(wc -c < /proc/kcore)"; else p "kcore=absent"; fi
if command -v mount >/dev/null; then
  mount -t tmpfs none /mnt 2>/dev/null && p mount=allowed || p mount=denied
else
  p mount=missing
fi
(echo 1 > /sys/kernel/profiling) 2>/dev/null && p sys=writable || p sys=denied
if [ -n "$HOST_MARKER" ]; then
  if [ -e "$HOST_MARKER" ]; then p host=visible; else p host=unreachable; fi
fi
p done=yes
`

const probeFile = { "denia-probe": { content: PROBE, mode: 0o755 } }
const COPY_PROBE = "COPY denia-probe /usr/local/bin/denia-probe"

const image = (containerfile: ReadonlyArray<string>, files: DebianImageSpec["files"] = {}): DebianImageSpec => ({
  packages: COMPAT_PACKAGES,
  containerfile: [COPY_PROBE, ...containerfile],
  files: { ...probeFile, ...files }
})

/** (a) Debian nginx, default config (`user www-data`, `listen 80`), logs to /dev/stdout and /dev/stderr, STOPSIGNAL SIGQUIT. */
export const nginxImage = image([
  "RUN ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log",
  "RUN echo 'compat nginx page' > /var/www/html/compat.txt",
  "COPY nginx-entrypoint.sh /docker-entrypoint.sh",
  "EXPOSE 80",
  "STOPSIGNAL SIGQUIT",
  "ENTRYPOINT [\"/docker-entrypoint.sh\"]",
  "CMD [\"nginx\", \"-g\", \"daemon off;\"]"
], {
  "nginx-entrypoint.sh": { content: "#!/bin/sh\nset -e\ndenia-probe\nexec \"$@\"\n", mode: 0o755 }
})

/**
 * (b) Python `http.server` as a named non-root user with WORKDIR in its home; `--cgi` serves
 * `cgi-bin/status`, whose bare-LF header lines (CGI output goes to the client as written) test the ingress too.
 */
export const pythonImage = image([
  "RUN useradd --create-home --shell /bin/sh app",
  "USER app",
  "WORKDIR /home/app",
  "RUN echo 'hello from app' > index.html && mkdir cgi-bin",
  "COPY --chown=app:app status.sh /home/app/cgi-bin/status",
  "CMD [\"sh\", \"-c\", \"denia-probe; exec python3 -m http.server --cgi 8000\"]"
], {
  "status.sh": {
    content: "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\ngrep -E '^(Uid|CapEff|NoNewPrivs|Seccomp):' /proc/self/status\n",
    mode: 0o755
  }
})

const APP_PY = `import json, os, pwd
from http.server import BaseHTTPRequestHandler, HTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        with open("/data/visits.txt", "a") as f:
            f.write(self.path + "\\n")
        body = json.dumps({
            "uid": os.getuid(),
            "user": pwd.getpwuid(os.getuid()).pw_name,
            "dataOwner": os.stat("/data").st_uid,
            "visitsOwner": os.stat("/data/visits.txt").st_uid,
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

HTTPServer(("0.0.0.0", 8080), Handler).serve_forever()
`

/** (c) The postgres/redis pattern: a root entrypoint chowns /data, then re-executes itself through `gosu www-data`. */
export const gosuImage = image([
  "RUN mkdir -p /data /srv",
  "COPY app.py /srv/app.py",
  "COPY gosu-entrypoint.sh /entrypoint.sh",
  "ENV PYTHONUNBUFFERED=1",
  "ENTRYPOINT [\"/entrypoint.sh\"]",
  "CMD [\"python3\", \"/srv/app.py\"]"
], {
  "app.py": APP_PY,
  "gosu-entrypoint.sh": {
    content: [
      "#!/bin/sh",
      "set -e",
      "denia-probe",
      "if [ \"$(id -u)\" = 0 ]; then",
      "  chown -R www-data:www-data /data",
      "  exec gosu www-data \"$0\" \"$@\"",
      "fi",
      "exec \"$@\"",
      ""
    ].join("\n"),
    mode: 0o755
  }
})

/** (d) A worker (`port: null`) that only prints a line every second. */
export const workerImage = image([
  "CMD [\"sh\", \"-c\", \"denia-probe; i=0; while :; do i=$((i+1)); echo \\\"worker tick $i\\\"; sleep 1; done\"]"
])

/** (e) A TCP-only service: Debian's redis-server without protected mode. */
export const redisImage = image([
  "EXPOSE 6379",
  "CMD [\"redis-server\", \"--protected-mode\", \"no\", \"--port\", \"6379\"]"
])

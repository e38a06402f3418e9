/** Copy-paste push commands for Denia's hosted registry (served by the daemon itself, under /v2). */

export interface PushTarget {
  /** `host[:port]` the console was loaded from: the daemon that serves /v2. */
  readonly host: string
  /** The console's origin was plain HTTP, so the registry is too. */
  readonly insecure: boolean
}

export const pushTargetOf = (location: { readonly host: string; readonly protocol: string }): PushTarget => ({
  host: location.host,
  insecure: location.protocol === "http:"
})

/** `skopeo copy` of a local image archive to `<project>/<service>:<tag>`, authenticated with an API token. */
export const skopeoPush = (target: PushTarget, repository: string, tag: string): string =>
  [
    "skopeo copy",
    ...(target.insecure ? ["--dest-tls-verify=false"] : []),
    "--dest-creds x:<token>",
    "docker-archive:image.tar",
    `docker://${target.host}/${repository}:${tag}`
  ].join(" ")

/** The same with a local Docker daemon's image. */
export const dockerPush = (target: PushTarget, repository: string, tag: string): ReadonlyArray<string> => [
  `docker login ${target.host} -u x   # password: an API token`,
  `docker tag <image> ${target.host}/${repository}:${tag}`,
  `docker push ${target.host}/${repository}:${tag}`
]

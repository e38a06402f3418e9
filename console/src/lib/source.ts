/** A service's source in one readable line: `image: nginx:1.27`, `hosted registry: default/web:v1`, `git: url@ref`. */
import type { ServiceSource } from "../../../src/domain/service.js"

export const sourceSummary = (s: ServiceSource, where: { readonly project?: string | undefined; readonly service: string }): string => {
  switch (s.type) {
    case "image":
      return `image: ${s.image}`
    case "hosted":
      return `hosted registry: ${where.project ?? "…"}/${where.service}:${s.tag}`
    case "git":
      return `git: ${s.url}@${s.ref}`
    case "upload":
      return `upload: ${s.context === "." ? "" : `${s.context}/`}${s.dockerfile}`
  }
}

/** `denia services create --git …`: the flags become a git source (over --spec), and misuse names the flag. */
import { Option } from "effect"
import { describe, expect, it } from "vitest"
import { NO_GIT_FLAGS } from "../../../src/cli/client/gitSource.js"
import { type CreateFlags, mergeCreateBody } from "../../../src/cli/client/services.js"

const none: CreateFlags = { image: Option.none(), source: Option.none(), tag: Option.none(), registry: Option.none(), port: Option.none() }

describe("services create --git", () => {
  it("builds a git source with auto-deploy settings", () => {
    const merged = mergeCreateBody(
      {},
      {
        ...none,
        ...NO_GIT_FLAGS,
        git: Option.some("https://git.example/app.git"),
        ref: Option.some("main"),
        context: Option.some("app"),
        dockerfile: Option.some("Containerfile"),
        credential: Option.some("GIT_TOKEN"),
        autoDeploy: Option.some("poll"),
        tagPattern: Option.some("v*"),
        pollInterval: Option.some(60)
      },
      "p1",
      "web"
    )
    expect(merged).toEqual({
      body: {
        projectId: "p1",
        name: "web",
        port: 8080,
        source: {
          type: "git",
          url: "https://git.example/app.git",
          ref: "main",
          dockerfile: "Containerfile",
          context: "app",
          credentialRef: "GIT_TOKEN",
          autoDeploy: { mode: "poll", tagPattern: "v*", intervalSeconds: 60 }
        }
      }
    })
  })

  it("flags win over a git source from --spec", () => {
    const merged = mergeCreateBody(
      { source: { type: "git", url: "https://a/x.git", ref: "dev", autoDeploy: { mode: "webhook" } } },
      {
        ...none,
        ...NO_GIT_FLAGS,
        ref: Option.some("main"),
        branch: Option.some("main")
      },
      "p1",
      "web"
    )
    expect(merged).toMatchObject({
      body: { source: { type: "git", url: "https://a/x.git", ref: "main", autoDeploy: { mode: "webhook", branch: "main" } } }
    })
  })

  it("names the flag that needs --git, --auto-deploy, or contradicts it", () => {
    expect(mergeCreateBody({}, { ...none, ...NO_GIT_FLAGS, ref: Option.some("main") }, "p", "w")).toEqual({
      error: "--ref is for git sources: give --git URL"
    })
    expect(mergeCreateBody({}, { ...none, ...NO_GIT_FLAGS, git: Option.some("https://a/x.git"), tagPattern: Option.some("v*") }, "p", "w"))
      .toEqual({ error: expect.stringContaining("give --auto-deploy webhook|poll") })
    expect(mergeCreateBody({}, { ...none, ...NO_GIT_FLAGS, git: Option.some("https://a/x.git"), image: Option.some("nginx") }, "p", "w"))
      .toEqual({ error: expect.stringContaining("drop --image") })
  })
})

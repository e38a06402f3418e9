/** Test Git repositories: a work tree to commit into and a bare repository the test servers serve. */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"

const ENV = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: "1",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.invalid",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.invalid"
}

export const git = (cwd: string, ...args: Array<string>): string =>
  execFileSync("git", args, { cwd, env: ENV, stdio: ["ignore", "pipe", "pipe"] }).toString("utf8").trim()

export interface TestRepo {
  /** The bare repository (what servers export). */
  readonly bare: string
  /** Writes files (relative path → content) into the work tree, commits them and pushes `main`; returns the commit. */
  readonly commit: (files: Record<string, string>, message?: string) => string
  /** Tags HEAD (annotated when `annotated`) and pushes the tag; returns the tagged commit. */
  readonly tag: (name: string, annotated?: boolean) => string
  /** Runs a git command in the work tree. */
  readonly run: (...args: Array<string>) => string
  readonly work: string
}

/** `<dir>/<name>.git` (bare) with a work tree beside it; branch `main`. */
export const makeTestRepo = (dir: string, name = "app"): TestRepo => {
  const bare = path.join(dir, `${name}.git`)
  const work = path.join(dir, `${name}-work`)
  fs.mkdirSync(work, { recursive: true })
  git(dir, "init", "-q", "--bare", "-b", "main", bare)
  git(work, "init", "-q", "-b", "main")
  git(work, "remote", "add", "origin", bare)
  const commit = (files: Record<string, string>, message = "change") => {
    for (const [rel, content] of Object.entries(files)) {
      const full = path.join(work, rel)
      fs.mkdirSync(path.dirname(full), { recursive: true })
      fs.writeFileSync(full, content)
    }
    git(work, "add", "-A")
    git(work, "commit", "-q", "--allow-empty", "-m", message)
    git(work, "push", "-q", "origin", "main")
    return git(work, "rev-parse", "HEAD")
  }
  const tag = (tagName: string, annotated = false) => {
    if (annotated) git(work, "tag", "-a", "-m", tagName, tagName)
    else git(work, "tag", tagName)
    git(work, "push", "-q", "origin", tagName)
    return git(work, "rev-parse", "HEAD")
  }
  return { bare, work, commit, tag, run: (...args) => git(work, ...args) }
}

import * as fs from "node:fs"
import * as path from "node:path"

/** Every entry below `root`, sorted, one line each: type, path, mode, owners, and a file's contents or a link's target. */
export const treeListing = (root: string): Array<string> => {
  const out: Array<string> = []
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const p = rel === "" ? name : `${rel}/${name}`
      const st = fs.lstatSync(path.join(root, p))
      const kind = st.isDirectory() ? "d" : st.isSymbolicLink() ? "l" : st.isFile() ? "f" : "o"
      const what = st.isFile()
        ? fs.readFileSync(path.join(root, p)).toString("base64").slice(0, 64) + `:${st.size}`
        : st.isSymbolicLink()
        ? fs.readlinkSync(path.join(root, p))
        : ""
      out.push(`${kind} ${p} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid} ${what}`)
      if (st.isDirectory()) walk(p)
    }
  }
  walk("")
  return out
}

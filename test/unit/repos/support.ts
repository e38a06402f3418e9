import { Layer } from "effect"
import * as path from "node:path"
import { Database } from "../../../src/db/Database.js"
import { AuditRepo } from "../../../src/repos/AuditRepo.js"
import { DeploymentsRepo } from "../../../src/repos/DeploymentsRepo.js"
import { DomainsRepo } from "../../../src/repos/DomainsRepo.js"
import { ProjectsRepo } from "../../../src/repos/ProjectsRepo.js"
import { RegistriesRepo } from "../../../src/repos/RegistriesRepo.js"
import { ServicesRepo } from "../../../src/repos/ServicesRepo.js"
import { UsersRepo } from "../../../src/repos/UsersRepo.js"
import { makeTempDir } from "../../support/tempDir.js"

/** Every repository under test on a fresh, migrated SQLite file (the SqlClient is exposed too, to corrupt rows). */
export const reposOnFile = () => {
  const temp = makeTempDir()
  const db = Database.layer(path.join(temp.dir, "denia.sqlite"))
  const repos = Layer.mergeAll(
    AuditRepo.layer,
    DeploymentsRepo.layer,
    DomainsRepo.layer,
    ProjectsRepo.layer,
    RegistriesRepo.layer,
    ServicesRepo.layer,
    UsersRepo.layer
  ).pipe(Layer.provideMerge(db))
  return { layer: repos, cleanup: temp.cleanup }
}

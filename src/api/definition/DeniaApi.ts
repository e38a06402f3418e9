/**
 * The whole HTTP API, described once. Pure (schemas and endpoints only, no
 * Node imports): the daemon implements it, the CLI and console derive typed
 * clients from it, and `/v1/openapi.json` is generated from it.
 */
import { HttpApi, OpenApi } from "@effect/platform"
import * as E from "./errors.js"
import { GitGroup, HooksGroup } from "./groups/autodeploy.js"
import { DeploymentsGroup } from "./groups/deployments.js"
import { ApiTokensGroup, AuditGroup, AuthGroup, AuthPublicGroup, MembersGroup, UsersGroup } from "./groups/identity.js"
import { IngressGroup } from "./groups/ingress.js"
import { MetaGroup } from "./groups/meta.js"
import { OciGroup } from "./groups/oci.js"
import { ProjectsGroup } from "./groups/projects.js"
import { RegistriesGroup } from "./groups/registries.js"
import { RegistryGroup } from "./groups/registry.js"
import { SecretsGroup } from "./groups/secrets.js"
import { ServicesGroup } from "./groups/services.js"
import { UploadsGroup } from "./groups/uploads.js"
import { VolumesGroup } from "./groups/volumes.js"

export class DeniaApi extends HttpApi.make("denia")
  .add(MetaGroup)
  .add(AuthPublicGroup)
  .add(AuthGroup)
  .add(ApiTokensGroup)
  .add(UsersGroup)
  .add(MembersGroup)
  .add(AuditGroup)
  .add(ProjectsGroup)
  .add(ServicesGroup)
  .add(VolumesGroup)
  .add(RegistriesGroup)
  .add(SecretsGroup)
  .add(DeploymentsGroup)
  .add(UploadsGroup)
  .add(OciGroup)
  .add(RegistryGroup)
  .add(IngressGroup)
  .add(HooksGroup)
  .add(GitGroup)
  .annotate(OpenApi.Title, "Denia API")
  .annotate(OpenApi.Version, "v1")
  .addError(E.BadRequestResponse)
  .addError(E.UnauthorizedResponse)
  .addError(E.ForbiddenResponse)
  .addError(E.NotFoundResponse)
  .addError(E.ConflictResponse)
  .addError(E.PayloadTooLargeResponse)
  .addError(E.LengthRequiredResponse)
  .addError(E.UnsupportedMediaTypeResponse)
  .addError(E.UnprocessableResponse)
  .addError(E.TooManyRequestsResponse)
  .addError(E.InternalErrorResponse)
{}

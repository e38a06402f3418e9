/**
 * HTTP error responses. Every error body is `{ "error": { code, message, details? } }`;
 * each class below owns one status code and is encoded through that envelope.
 * Pure: importable by the console and the CLI.
 */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

const ErrorFields = {
  code: Schema.String,
  message: Schema.String,
  details: Schema.optional(Schema.Unknown)
}
const ErrorBody = Schema.Struct(ErrorFields)
type ErrorBody = typeof ErrorBody.Type

const Envelope = Schema.Struct({ error: ErrorBody })

const withEnvelope = <Self extends ErrorBody, Tag extends string>(
  cls: Schema.Schema<Self, ErrorBody & { readonly _tag: Tag }>,
  tag: Tag,
  status: number
): Schema.Schema<Self, typeof Envelope.Encoded> =>
  Schema.transform(Envelope, cls, {
    strict: true,
    decode: (envelope) => ({ ...envelope.error, _tag: tag }),
    encode: ({ _tag: _ignored, ...body }) => ({ error: body })
  }).annotations(HttpApiSchema.annotations({ status }))

export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", ErrorFields) {}
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", ErrorFields) {}
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", ErrorFields) {}
export class NotFoundError extends Schema.TaggedError<NotFoundError>()("NotFoundError", ErrorFields) {}
export class ConflictError extends Schema.TaggedError<ConflictError>()("ConflictError", ErrorFields) {}
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", ErrorFields) {}
export class LengthRequired extends Schema.TaggedError<LengthRequired>()("LengthRequired", ErrorFields) {}
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()("UnsupportedMediaType", ErrorFields) {}
export class Unprocessable extends Schema.TaggedError<Unprocessable>()("Unprocessable", ErrorFields) {}
export class TooManyRequests extends Schema.TaggedError<TooManyRequests>()("TooManyRequests", {
  ...ErrorFields
}) {}
export class InternalError extends Schema.TaggedError<InternalError>()("InternalError", ErrorFields) {}

export const BadRequestResponse = withEnvelope(BadRequest, "BadRequest", 400)
export const UnauthorizedResponse = withEnvelope(Unauthorized, "Unauthorized", 401)
export const ForbiddenResponse = withEnvelope(Forbidden, "Forbidden", 403)
export const NotFoundResponse = withEnvelope(NotFoundError, "NotFoundError", 404)
export const ConflictResponse = withEnvelope(ConflictError, "ConflictError", 409)
export const PayloadTooLargeResponse = withEnvelope(PayloadTooLarge, "PayloadTooLarge", 413)
export const LengthRequiredResponse = withEnvelope(LengthRequired, "LengthRequired", 411)
export const UnsupportedMediaTypeResponse = withEnvelope(UnsupportedMediaType, "UnsupportedMediaType", 415)
export const UnprocessableResponse = withEnvelope(Unprocessable, "Unprocessable", 422)
export const TooManyRequestsResponse = withEnvelope(TooManyRequests, "TooManyRequests", 429)
export const InternalErrorResponse = withEnvelope(InternalError, "InternalError", 500)

export type ApiError =
  | BadRequest
  | Unauthorized
  | Forbidden
  | NotFoundError
  | ConflictError
  | PayloadTooLarge
  | LengthRequired
  | UnsupportedMediaType
  | Unprocessable
  | TooManyRequests
  | InternalError

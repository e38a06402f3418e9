/** Secrets subsystem: SOPS v3 documents with age, the host identity, and the SecretStore service. */
export * from "./ageIdentity.js"
export * from "./errors.js"
export * from "./SecretStore.js"
export * as Sops from "./sops/index.js"

/** Byte counts for people: `512 B`, `2.0 KiB`, `3.4 MiB`, `1.25 GiB`. Pure; shared by the CLI and the console. */
export const formatBytes = (n: number): string =>
  n >= 1024 ** 3
    ? `${(n / 1024 ** 3).toFixed(2)} GiB`
    : n >= 1024 ** 2
    ? `${(n / 1024 ** 2).toFixed(1)} MiB`
    : n >= 1024
    ? `${(n / 1024).toFixed(1)} KiB`
    : `${n} B`

/**
 * The Parquet codecs an export accepts (`parquet.compression`). Plain data without zod, so that an
 * encoder thread (which checks its write options) loads no validation library.
 */

/** Every accepted codec name, the default first. */
export const COMPRESSIONS = ['zstd', 'snappy', 'gzip', 'brotli', 'lz4', 'uncompressed'] as const;

/** One of {@link COMPRESSIONS}. */
export type Compression = (typeof COMPRESSIONS)[number];

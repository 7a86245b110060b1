/**
 * The options that say when a store decorator compresses values, shared by
 * {@linkcode CompressedCacheStore} and the encrypted stores.
 *
 * @module
 */

/** When values are compressed, and how far a stored one may inflate. */
export interface CompressionOptions {
  /**
   * Values whose encoded form is shorter than this many bytes are stored
   * uncompressed. A non-negative integer.
   *
   * @default {1024}
   */
  minBytes?: number;
  /**
   * The most bytes a stored value may inflate to. A value that would
   * inflate further (a decompression bomb, or a value written with a larger
   * limit) is not inflated past it: it is a miss, and is deleted. A
   * positive integer.
   *
   * @default {33_554_432} (32 MiB)
   */
  maxDecompressedBytes?: number;
}

// Validation of CompressionOptions, shared by the stores that compress.

import { ConfigError } from "../../errors.ts";
import { nonNegativeInteger, positiveInteger } from "../_validate.ts";
import type { CompressionOptions } from "./compression_options.ts";
import type { _CompressionPolicy } from "./_packed.ts";

/** The default `minBytes`: smaller values gain little and cost a stream. */
export const DEFAULT_MIN_BYTES = 1_024;
/** The default `maxDecompressedBytes`: 32 MiB. */
export const DEFAULT_MAX_DECOMPRESSED_BYTES = 33_554_432;

/**
 * Validates compression options. `prefix` names them in errors
 * (`"compress."` for the encrypted stores' `compress` option).
 */
export function compressionPolicy(
  component: string,
  prefix: string,
  options: unknown,
): _CompressionPolicy {
  if (typeof options !== "object" || options === null) {
    throw new ConfigError(
      component,
      prefix === "" ? "options" : prefix.slice(0, -1),
      options,
      prefix === "" ? "an object" : "a boolean or an object",
    );
  }
  const {
    minBytes = DEFAULT_MIN_BYTES,
    maxDecompressedBytes = DEFAULT_MAX_DECOMPRESSED_BYTES,
  } = options as CompressionOptions;
  return {
    minBytes: nonNegativeInteger(component, `${prefix}minBytes`, minBytes),
    maxDecompressedBytes: positiveInteger(
      component,
      `${prefix}maxDecompressedBytes`,
      maxDecompressedBytes,
    ),
  };
}

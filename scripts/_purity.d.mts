// Types of _purity.mjs, for the tests that import it.

/** One use of something the purity rules forbid. */
export interface Violation {
  path: string;
  line: number;
  column: number;
  message: string;
}

/** A source file, with its path relative to the repository root. */
export interface Source {
  path: string;
  text: string;
}

export declare const ADAPTER_IMPORTS: Record<string, string[]>;
export declare const TESTING_IMPORTS: string[];
export declare const RUNTIME_GLOBALS: string[];
export declare function isShippedSource(path: string): boolean;
export declare function checkSources(sources: Source[]): Violation[];
export declare function importProblem(
  path: string,
  specifier: string,
): string | undefined;

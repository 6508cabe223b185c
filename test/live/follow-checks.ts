// Order checks for long reads that fail with one line: a deep-equality diff of 100k entries would take minutes to print.

/** Where `actual` first differs from `expected`, or undefined when they are equal. */
export function listMismatch<T>(actual: readonly T[], expected: readonly T[]): string | undefined {
  for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
    if (actual[i] !== expected[i]) {
      const describe = (list: readonly T[]) => (i < list.length ? String(list[i]) : "the end");
      return `at index ${i}: expected ${describe(expected)}, got ${describe(actual)} (length ${actual.length}, expected ${expected.length})`;
    }
  }
  return undefined;
}

/** `from`, `from + 1`, … (`count` numbers). */
export const range = (from: number, count: number): number[] => Array.from({ length: count }, (_, i) => from + i);

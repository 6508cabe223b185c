/** A test body or hook; the suites' are all async. */
export type TestBody = () => Promise<void> | void;

/**
 * The test functions a conformance suite registers its tests through, so that a backend's author can
 * run it under any runner of this shape: pass vitest's, node:test's or mocha's own functions
 * (`{ describe, it, beforeEach, afterEach }`). The suites check with node:assert, not the runner's
 * assertions. `skip` (all three runners have it) shows what a backend does not support as skipped;
 * without it those tests are left out.
 */
export interface SuiteRunner {
  describe: { (name: string, body: () => void): unknown; skip?: (name: string, body: () => void) => unknown };
  it: { (name: string, body: TestBody): unknown; skip?: (name: string, body: TestBody) => unknown };
  beforeEach(hook: TestBody): unknown;
  afterEach(hook: TestBody): unknown;
}

/** The runner's functions, plus `itIf`/`describeIf` that register as skipped when `condition` is false. */
export interface Suite {
  readonly describe: (name: string, body: () => void) => void;
  readonly it: (name: string, body: TestBody) => void;
  readonly beforeEach: (hook: TestBody) => void;
  readonly afterEach: (hook: TestBody) => void;
  readonly itIf: (condition: boolean) => (name: string, body: TestBody) => void;
  readonly describeIf: (condition: boolean) => (name: string, body: () => void) => void;
}

export function suiteOf(runner: SuiteRunner): Suite {
  if (typeof runner !== "object" || runner === null) throw new TypeError("runner must be { describe, it, beforeEach, afterEach }");
  for (const name of ["describe", "it", "beforeEach", "afterEach"] as const) {
    if (typeof runner[name] !== "function") throw new TypeError(`runner.${name} must be a function`);
  }
  const describe = (name: string, body: () => void): void => void runner.describe(name, body);
  const it = (name: string, body: TestBody): void => void runner.it(name, body);
  const skipDescribe = (name: string, body: () => void): void => void runner.describe.skip?.(name, body);
  const skipIt = (name: string, body: TestBody): void => void runner.it.skip?.(name, body);
  return {
    describe,
    it,
    beforeEach: (hook) => void runner.beforeEach(hook),
    afterEach: (hook) => void runner.afterEach(hook),
    itIf: (condition) => (condition ? it : skipIt),
    describeIf: (condition) => (condition ? describe : skipDescribe),
  };
}

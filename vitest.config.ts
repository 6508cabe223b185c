import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "pkg/**/*.test.ts", "store/**/*.test.ts", "bus/**/*.test.ts", "transport/**/*.test.ts"],
    // Bounds, not speed checks: a CLI process started through tsx takes 7–10 s on two busy cores, and
    // some cases start several.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});

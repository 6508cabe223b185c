import js from "@eslint/js";
import tseslint from "typescript-eslint";
import layers from "./lint/layers.js";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "data/", "coverage/", ".tmp/", "**/*.js", "**/*.mjs", "test/package/consumer/"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: { arguments: false } }],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/require-await": "off",
      "@typescript-eslint/only-throw-error": "off",
      "@typescript-eslint/prefer-promise-reject-errors": "off",
    },
  },
  {
    files: ["pkg/**/*.ts", "store/**/*.ts", "bus/**/*.ts", "transport/**/*.ts"],
    plugins: { streamkit: layers },
    rules: { "streamkit/layers": "error" },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
);

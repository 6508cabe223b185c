import type { ESLint } from "eslint";

/** The layer rule of lint/layers.js, as the ESLint plugin `streamkit`. */
declare const plugin: ESLint.Plugin;
export default plugin;

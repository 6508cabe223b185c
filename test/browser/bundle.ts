import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../../", import.meta.url));

interface ExportTarget {
  browser?: string;
  default?: string;
}

export interface BrowserBundle {
  /** The ES module: `export { createClient, createWsProvider }`. */
  code: string;
  /** Every file esbuild read, relative to the repository root (`node_modules/…` for dependencies). */
  inputs: string[];
}

/** A published `./dist/x/y.js` target as the source file it is built from. */
function sourceOf(target: string): string {
  if (!target.startsWith("./dist/") || !target.endsWith(".js")) throw new TypeError(`unexpected export target ${target}`);
  return target.slice("./dist/".length, -".js".length) + ".ts";
}

/** The source file a browser bundler picks for a subpath of this package: its `browser` condition, else `default`. */
async function browserSourceOf(subpath: "./client" | "./transport/ws"): Promise<string> {
  const manifest = JSON.parse(await readFile(`${root}package.json`, "utf8")) as { exports: { [path: string]: ExportTarget } };
  const target = manifest.exports[subpath];
  const file = target?.browser ?? target?.default;
  if (file === undefined) throw new TypeError(`package.json exports no ${subpath}`);
  return sourceOf(file);
}

/**
 * Bundles the client SDK and the WebSocket provider as a browser would get them from the published
 * package: the files package.json's export map names under the `browser` condition, bundled for
 * the browser platform with no externals, so any Node built-in in the graph fails the build.
 */
export async function bundleBrowserSdk(options: { minify?: boolean } = {}): Promise<BrowserBundle> {
  const client = await browserSourceOf("./client");
  const provider = await browserSourceOf("./transport/ws");
  const result = await build({
    stdin: {
      contents: `export { createClient } from "./${client}";\nexport { createWsProvider } from "./${provider}";\n`,
      resolveDir: root,
      sourcefile: "streamkit-browser-entry.ts",
      loader: "ts",
    },
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    minify: options.minify ?? false,
    write: false,
    metafile: true,
    logLevel: "silent",
    absWorkingDir: root,
  });
  const output = result.outputFiles[0];
  if (output === undefined) throw new Error("esbuild produced no output");
  return { code: output.text, inputs: Object.keys(result.metafile.inputs) };
}

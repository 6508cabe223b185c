import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";

// esbuild comes with tsx (a dev dependency); bundling for the browser platform fails on any Node built-in.
describe("the browser entry of transport/ws", () => {
  it("bundles for browsers without ws or any Node built-in", async () => {
    const entry = fileURLToPath(new URL("./browser.ts", import.meta.url));
    const result = await build({ entryPoints: [entry], bundle: true, platform: "browser", format: "esm", write: false, metafile: true, logLevel: "silent" });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((input) => input.includes("transport/ws/client/browser-socket.ts"))).toBe(true);
    expect(inputs.filter((input) => /node_modules\/ws\/|node-socket|transport\/ws\/server/.test(input))).toEqual([]);
    expect(inputs.filter((input) => input.startsWith("node:"))).toEqual([]);
  });
});

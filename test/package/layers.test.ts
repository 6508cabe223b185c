import { join } from "node:path";
import { Linter } from "eslint";
import tseslint from "typescript-eslint";
import { describe, expect, it } from "vitest";
import layers from "../../lint/layers.js";

const ROOT = join(import.meta.dirname, "../..");

/** The layer rule's messages for `code` as if it were the repository file `file`. */
function lint(file: string, code: string): string[] {
  const linter = new Linter({ configType: "flat" });
  const messages = linter.verify(
    code,
    [{ files: ["**/*.ts"], languageOptions: { parser: tseslint.parser }, plugins: { streamkit: layers }, rules: { "streamkit/layers": "error" } }],
    { filename: join(ROOT, file) },
  );
  return messages.map((message) => message.message);
}

describe("the layer lint rule (lint/layers.js)", () => {
  it("lets imports point down", () => {
    expect(lint("pkg/server/node.ts", `import { StreamsError } from "../api/index.js"; import type { Store } from "../../store/types.js";`)).toEqual([]);
    expect(lint("transport/ws/server/x.ts", `import { createNodeManager } from "../../../pkg/server/index.js";`)).toEqual([]);
    expect(lint("pkg/cli/x.ts", `import { attachStreamz } from "../../transport/ws/server/index.js";`)).toEqual([]);
    expect(lint("pkg/client/x.ts", `import { encodeFrame } from "../api/internal/index.js";`)).toEqual([]);
  });

  it("refuses imports that point up or sideways", () => {
    expect(lint("bus/redis/x.ts", `import type { Logger } from "../../pkg/server/logger.js";`)).toEqual([expect.stringContaining("(bus) may not import pkg/server/logger.ts (server)")]);
    expect(lint("pkg/server/operator/x.ts", `import type { ConnectionInfo } from "../../../transport/ws/server/index.js";`)).toHaveLength(1);
    expect(lint("transport/ws/server/x.ts", `import { SUBPROTOCOL } from "../client/socket.js";`)).toHaveLength(1);
    expect(lint("pkg/client/x.ts", `export { createNodeManager } from "../server/index.js";`)).toHaveLength(1);
    expect(lint("store/level/x.ts", `const m = await import("../../bus/memory/index.js");`)).toHaveLength(1);
    expect(lint("pkg/api/x.ts", `import { Client } from "../client/index.js";`)).toHaveLength(1);
  });

  it("keeps Node built-ins and ws out of browser-side files", () => {
    expect(lint("pkg/client/x.ts", `import { setTimeout } from "node:timers/promises";`)).toEqual([expect.stringContaining("runs in browsers")]);
    expect(lint("pkg/client/x.ts", `import { EventEmitter } from "events";`)).toHaveLength(1);
    expect(lint("transport/ws/client/browser-socket.ts", `import WebSocket from "ws";`)).toHaveLength(1);
    expect(lint("transport/ws/client/node-socket.ts", `import WebSocket from "ws";`)).toEqual([]);
    expect(lint("pkg/server/x.ts", `import { readFile } from "node:fs/promises";`)).toEqual([]);
  });

  it("leaves tests alone", () => {
    expect(lint("pkg/client/client.test.ts", `import { createNodeManager } from "../server/index.js";`)).toEqual([]);
  });
});

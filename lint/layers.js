// An ESLint rule that keeps the layers pointing down (docs/design.md, Layers):
// api ← store, bus ← server ← transport ← cli, with the SDK (pkg/client) on api alone and the
// browser-side files free of Node built-ins and `ws`. Tests, bench and examples are not layered.
import { builtinModules } from "node:module";
import { dirname, relative, resolve } from "node:path";

const ROOT = dirname(dirname(new URL(import.meta.url).pathname));

/** The layer of a repository file, by its path; the first matching prefix wins. */
const LAYERS = [
  ["pkg/api/", "api"],
  ["store/", "store"],
  ["bus/", "bus"],
  ["pkg/server/", "server"],
  ["pkg/client/", "client"],
  ["transport/ws/client/", "ws-client"],
  ["transport/ws/browser.ts", "ws-client"],
  ["transport/ws/server/", "ws-server"],
  ["transport/ws/index.ts", "ws-entry"],
  // The HTTP gateway speaks to the nodes as an SDK client over the in-process transport.
  ["transport/http/", "http"],
  ["transport/", "transport"],
  ["pkg/cli/", "cli"],
  ["pkg/index.ts", "entry"],
  ["pkg/browser.ts", "entry"],
];

/** What each layer may import from the repository (besides itself). */
const ALLOWED = {
  api: [],
  store: ["api"],
  bus: ["api"],
  server: ["api", "store", "bus"],
  client: ["api"],
  "ws-client": ["api", "transport"],
  "ws-server": ["api", "store", "bus", "server", "transport"],
  transport: ["api", "store", "bus", "server"],
  http: ["api", "server", "client", "transport"],
  "ws-entry": ["api", "ws-client", "ws-server"],
  cli: ["api", "store", "bus", "server", "client", "ws-client", "ws-server", "transport", "http"],
  entry: ["api", "client", "ws-client"],
};

/** Files that run in browsers: no Node built-ins, no `ws`. */
const BROWSER_SAFE = [/^pkg\/api\//, /^pkg\/client\//, /^pkg\/browser\.ts$/, /^transport\/ws\/browser\.ts$/, /^transport\/ws\/client\/(?!index\.ts$|node-socket\.ts$)/];

const NODE_ONLY = new Set([...builtinModules, "ws"]);

function layerOf(file) {
  if (/\.test\.ts$/.test(file) || /\/conformance\//.test(file)) return undefined;
  return LAYERS.find(([prefix]) => file.startsWith(prefix))?.[1];
}

/** @type {import("eslint").Rule.RuleModule} */
const rule = {
  meta: {
    type: "problem",
    docs: { description: "imports point down the layers; browser-side files use no Node built-ins" },
    schema: [],
    messages: {
      upward: "{{from}} ({{fromLayer}}) may not import {{to}} ({{toLayer}}): layers point down (docs/design.md, Layers)",
      nodeOnly: "{{from}} runs in browsers: it may not import '{{specifier}}'",
    },
  },
  create(context) {
    const file = relative(ROOT, context.filename);
    const fromLayer = layerOf(file);
    if (fromLayer === undefined) return {};
    const browserSafe = BROWSER_SAFE.some((pattern) => pattern.test(file));
    const check = (node) => {
      const specifier = node.source?.value;
      if (typeof specifier !== "string") return;
      if (!specifier.startsWith(".")) {
        const bare = specifier.replace(/^node:/, "").split("/")[0];
        if (browserSafe && (specifier.startsWith("node:") || NODE_ONLY.has(bare))) {
          context.report({ node: node.source, messageId: "nodeOnly", data: { from: file, specifier } });
        }
        return;
      }
      const target = relative(ROOT, resolve(dirname(context.filename), specifier)).replace(/\.js$/, ".ts");
      const toLayer = layerOf(target);
      if (toLayer === undefined || toLayer === fromLayer || ALLOWED[fromLayer].includes(toLayer)) return;
      context.report({ node: node.source, messageId: "upward", data: { from: file, fromLayer, to: target, toLayer } });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};

export default { rules: { layers: rule } };

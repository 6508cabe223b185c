import { wantsHelp } from "./config/index.js";
import { EXIT_FAILURE, EXIT_OK } from "./exit-codes.js";
import { serveHelp, type Verb } from "./help.js";
import { reportMissingPeer } from "./missing-peer.js";

/**
 * `streamkit serve`, loaded only when run: the server's dependencies are optional peers
 * (docs/install.md), so `streamkit --help` and the client verbs work in an SDK-only install.
 */
export const serveVerb: Verb = {
  summary: "Run the server (WebSocket /streamz, /healthz, /readyz).",
  help: serveHelp,
  run: async (argv) => {
    if (wantsHelp(argv)) {
      process.stdout.write(serveHelp());
      return EXIT_OK;
    }
    let server: typeof import("./serve.js");
    try {
      server = await import("./serve.js");
    } catch (error) {
      if (!reportMissingPeer(error)) throw error;
      return EXIT_FAILURE;
    }
    return server.serve(argv);
  },
};

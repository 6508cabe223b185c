#!/usr/bin/env node
// The `streamkit` executable. Client verbs load no server code; should anything still need a missing
// server dependency, it is reported with the install line rather than a stack.
import { reportMissingPeer } from "./missing-peer.js";

import("./main.js").catch((error: unknown) => {
  if (!reportMissingPeer(error)) throw error;
  process.exit(1);
});

import type { SegmentStatus, StatusSubscription, StreamsClient, createClient } from "../../pkg/client/index.js";
import type { createWsProvider } from "../../transport/ws/browser.js";

/** What the bundle exports, as the page exposes it on `window.streamkit`. */
export interface BrowserSdk {
  createClient: typeof createClient;
  createWsProvider: typeof createWsProvider;
}

/** An entry as the page hands it back to Node (structured-clone friendly). */
export interface PageEntry {
  space: string;
  segment: string;
  sequence: number;
  text: string;
  metadata: { [key: string]: string };
  offset: string;
  payloadIsBytes: boolean;
}

/** Page globals the tests set and read; each test's page code runs in the browser, not in Node. */
declare global {
  interface Window {
    streamkit: BrowserSdk;
    /** Appends a line to the page's event log (what the screenshot shows). */
    log(line: string): void;
    client?: StreamsClient;
    followed?: PageEntry[];
    /** "done" once the follow loop ended by itself, else the error that ended it. */
    followOutcome?: string;
    statuses?: SegmentStatus[];
    subscription?: StatusSubscription;
  }
}

/** The test page: loads the bundle as an ES module, exposes it as `window.streamkit`, shows an event log. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Streamkit browser SDK</title>
<style>
  body { font: 14px/1.5 system-ui, sans-serif; margin: 24px; color: #1f2933; background: #f7f9fb; }
  h1 { font-size: 18px; margin: 0 0 4px; }
  p { margin: 0 0 16px; color: #52606d; }
  ol { background: #fff; border: 1px solid #d9e2ec; border-radius: 6px; padding: 12px 12px 12px 40px; margin: 0; }
  li { font-family: ui-monospace, monospace; font-size: 12px; padding: 2px 0; }
</style>
</head>
<body>
<h1>Streamkit browser SDK</h1>
<p id="state">loading the bundle…</p>
<ol id="log"></ol>
<script type="module">
  import * as streamkit from "/streamkit.js";
  window.log = (line) => {
    const item = document.createElement("li");
    item.textContent = line;
    document.getElementById("log").append(item);
  };
  window.streamkit = streamkit;
  document.getElementById("state").textContent = "bundle loaded: " + Object.keys(streamkit).join(", ");
</script>
</body>
</html>
`;

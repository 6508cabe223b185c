// Streamkit operator dashboard: a thin client over /api/status/stream (server-sent events) and the
// admin endpoints under /api/admin/. Plain browser JavaScript, no build step, no framework.
"use strict";

(() => {
  const TOKEN_KEY = "streamkit.adminToken";
  const $ = (id) => document.getElementById(id);

  /** Shows a table's empty message, in place of "Waiting for the first status…" once a status arrived. */
  function showEmpty(id, empty) {
    const element = $(id);
    element.textContent = element.dataset.empty;
    element.hidden = !empty;
  }

  const count = new Intl.NumberFormat("en");

  /** Server clock minus ours, so relative times agree with the server's timestamps. */
  let skew = 0;
  let startedAt = null;

  // ---- small helpers -------------------------------------------------------------------------

  /** Creates an element; strings become text nodes (never HTML). */
  function h(tag, props, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(props ?? {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") element.className = value;
      else element.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child !== undefined && child !== null && child !== false) element.append(child);
    }
    return element;
  }

  const serverNow = () => Date.now() + skew;

  function ago(at) {
    if (at === null || at === undefined) return "never";
    const seconds = Math.max(0, Math.round((serverNow() - at) / 1000));
    if (seconds < 2) return "just now";
    if (seconds < 60) return `${seconds} s ago`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes} min ago`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return `${hours} h ${minutes % 60} min ago`;
    return `${Math.floor(hours / 24)} d ago`;
  }

  function duration(ms) {
    const seconds = Math.max(0, Math.floor(ms / 1000));
    if (seconds < 60) return `${seconds} s`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return `${hours} h ${minutes % 60} min`;
    return `${Math.floor(hours / 24)} d ${hours % 24} h`;
  }

  function bytes(n) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = n;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit++;
    }
    return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
  }

  function perSecond(n) {
    if (n >= 1_000_000) return `${(n / 1_000_000).toFixed(1)}M`;
    if (n >= 10_000) return `${Math.round(n / 1000)}k`;
    if (n >= 1000) return `${(n / 1000).toFixed(1)}k`;
    return n % 1 === 0 ? String(n) : n.toFixed(1);
  }

  /** A relative time that refreshTimes() keeps current. */
  function time(at, fallback) {
    if (at === null || at === undefined) return h("span", { class: "muted" }, fallback ?? "never");
    const iso = new Date(at).toISOString();
    return h("time", { "data-at": at, datetime: iso, title: iso }, ago(at));
  }

  function refreshTimes() {
    for (const element of document.querySelectorAll("time[data-at]")) element.textContent = ago(Number(element.dataset.at));
    if (startedAt !== null) $("uptime").textContent = duration(serverNow() - startedAt);
  }

  const badge = (text, tone) => h("span", { class: `badge${tone ? ` ${tone}` : ""}` }, text);

  function setCard(name, value, note, tone) {
    $(`card-${name}`).textContent = value;
    const noteElement = $(`card-${name}-note`);
    noteElement.textContent = note || "\u00a0";
    noteElement.className = `note${tone ? ` ${tone}` : ""}`;
  }

  /**
   * Brings a tbody in line with `items`: rows are keyed, and a cell is replaced only when its markup
   * changed, so a button under the pointer is not swapped out by an unrelated update.
   */
  function syncRows(tbody, items, keyOf, cellsOf, rowClass) {
    const existing = new Map([...tbody.rows].map((row) => [row.dataset.key, row]));
    let previous = null;
    for (const item of items) {
      const key = keyOf(item);
      let row = existing.get(key);
      existing.delete(key);
      const cells = cellsOf(item);
      if (row === undefined) {
        row = h("tr", { "data-key": key }, cells);
      } else {
        cells.forEach((cell, i) => {
          const old = row.cells[i];
          if (old === undefined) row.append(cell);
          else if (old.outerHTML !== cell.outerHTML) old.replaceWith(cell);
        });
      }
      row.className = rowClass ? rowClass(item) : "";
      const expected = previous === null ? tbody.firstChild : previous.nextSibling;
      if (expected !== row) tbody.insertBefore(row, expected);
      previous = row;
    }
    for (const row of existing.values()) row.remove();
  }

  // ---- rendering -----------------------------------------------------------------------------

  function renderHeader(status) {
    const { instance } = status;
    $("node-id").textContent = instance.nodeId;
    $("node-id").title = instance.nodeId;
    $("version").textContent = instance.version;
    $("node-version").textContent = instance.nodeVersion;
    startedAt = instance.startedAt;
    document.title = `Streamkit · ${instance.nodeId.slice(0, 8)}`;
  }

  function renderCards(status) {
    const { counts, rates, totals, bus, stores, resources } = status;
    setCard(
      "connections",
      count.format(counts.connections),
      counts.staleConnections > 0 ? `${counts.staleConnections} stale` : counts.connections > 0 ? "all answering pings" : "none",
      counts.staleConnections > 0 ? "warn" : "",
    );
    const ops = Object.keys(status.streamsByOp).length;
    setCard("streams", count.format(counts.streams), ops > 0 ? `${ops} operation${ops === 1 ? "" : "s"}` : "idle");
    const openCircuits = stores.filter((store) => store.circuit !== "closed").length;
    const evictions = Object.values(totals.evictions).reduce((sum, n) => sum + n, 0);
    setCard(
      "nodes",
      count.format(counts.nodes),
      openCircuits > 0 ? `${openCircuits} circuit${openCircuits === 1 ? "" : "s"} open` : `${count.format(evictions)} evicted`,
      openCircuits > 0 ? "bad" : "",
    );
    const cap = resources.maxOpenStores === null ? "" : ` of ${count.format(resources.maxOpenStores)}`;
    const waiting = resources.waitingOpens > 0 ? ` · ${count.format(resources.waitingOpens)} waiting` : "";
    setCard(
      "descriptors",
      resources.descriptors === null ? "–" : count.format(resources.descriptors),
      `${resources.descriptorLimit === null ? "" : `limit ${count.format(resources.descriptorLimit)} · `}${count.format(resources.openStores)}${cap} stores open${waiting}`,
      resources.descriptors !== null && resources.descriptorLimit !== null && resources.descriptors > resources.descriptorLimit * 0.8 ? "warn" : "",
    );
    setCard("produced", `${perSecond(rates.entriesProducedPerSec)}/s`, `${bytes(rates.bytesProducedPerSec)}/s · ${count.format(totals.entriesProduced)} total`);
    setCard("consumed", `${perSecond(rates.entriesConsumedPerSec)}/s`, `${bytes(rates.bytesConsumedPerSec)}/s · ${count.format(totals.entriesConsumed)} total`);
    const plural = (n, word) => `${count.format(n)} ${word}${n === 1 ? "" : "s"}`;
    setCard("live", count.format(counts.subscriptions), `${plural(counts.leases, "lease")} · ${plural(counts.workers, "worker")}`);
    setCard(
      "bus",
      bus.connected ? "up" : "down",
      `${count.format(bus.published)} sent · ${count.format(bus.dropped)} dropped`,
      !bus.connected || bus.dropped > 0 ? "bad" : "",
    );
  }

  function renderConnections(connections) {
    const tbody = $("connections").tBodies[0];
    syncRows(
      tbody,
      connections,
      (connection) => connection.id,
      (connection) => [
        h("td", { class: "mono" }, connection.id),
        h("td", {}, connection.clientAddress ?? "unix socket", h("span", { class: "secondary", title: connection.userAgent ?? "" }, connection.userAgent ?? "")),
        h("td", {}, connection.subject ?? h("span", { class: "secondary" }, "anonymous")),
        h("td", {}, time(connection.openedAt)),
        h("td", {}, time(connection.lastHeartbeat, "none yet")),
        h("td", { class: "num" }, count.format(connection.streams)),
        h("td", {}, h("span", { class: "stores-list", title: connection.stores.join("\n") }, connection.stores.map((id) => id.slice(0, 8)).join(", ") || "–")),
        h("td", { class: "num" }, `${bytes(connection.bytesIn)} / ${bytes(connection.bytesOut)}`),
        h("td", {}, connection.stale ? badge("stale", "warn") : badge("live", "ok")),
        h("td", { class: "actions" }, h("button", { type: "button", class: "danger", "data-action": "close", "data-id": connection.id, title: "POST /api/admin/connections/:id/close" }, "Close")),
      ],
      (connection) => (connection.stale ? "is-stale" : ""),
    );
    showEmpty("connections-empty", connections.length === 0);
  }

  function circuitBadge(store) {
    if (store.circuit === "open") return badge(`open · ${Math.ceil(store.retryAfterMs / 1000)} s`, "bad");
    if (store.circuit === "half-open") return badge("half-open", "warn");
    return store.failures > 0 ? badge(`closed · ${store.failures} failed`, "warn") : badge("closed");
  }

  function renderStores(stores) {
    syncRows(
      $("stores").tBodies[0],
      stores,
      (store) => store.storeId,
      (store) => [
        h("td", { class: "store-id" }, store.node === "open" ? h("a", { class: "store-link", href: `#/store/${encodeURIComponent(store.storeId)}` }, store.storeId) : store.storeId),
        h("td", {}, store.node === "open" ? badge("open", "ok") : badge("closed")),
        h("td", { class: "num" }, count.format(store.openStreams)),
        h("td", {}, time(store.lastAccess, "–")),
        h("td", {}, circuitBadge(store)),
        h("td", { class: "num" }, perSecond(store.entriesProducedPerSec)),
        h("td", { class: "num" }, perSecond(store.entriesConsumedPerSec)),
        h("td", { class: "num" }, store.entries === null ? "–" : count.format(store.entries)),
        h("td", { class: "num" }, store.bytes === null ? "–" : bytes(store.bytes)),
        h(
          "td",
          { class: "actions" },
          store.node === "open" &&
            h("button", { type: "button", class: "ghost", "data-action": "sweep", "data-id": store.storeId, title: "POST /api/admin/stores/:storeId/sweep" }, "Sweep"),
          store.node === "open" &&
            h("button", { type: "button", class: "ghost danger", "data-action": "delete", "data-id": store.storeId, title: "POST /api/admin/stores/:storeId/delete" }, "Delete"),
          store.node === "open" &&
            h("button", { type: "button", class: "ghost", "data-action": "evict", "data-id": store.storeId, title: "POST /api/admin/stores/:storeId/evict" }, "Evict"),
          (store.circuit !== "closed" || store.failures > 0) &&
            h("button", { type: "button", class: "ghost", "data-action": "reset", "data-id": store.storeId, title: "POST /api/admin/stores/:storeId/circuit/reset" }, "Reset circuit"),
        ),
      ],
    );
    showEmpty("stores-empty", stores.length === 0);
  }

  function renderErrors(errors) {
    const list = $("errors");
    list.replaceChildren(
      ...errors.map((error) =>
        h(
          "li",
          {},
          time(error.at),
          h("span", {}, badge(error.kind, "bad")),
          h("span", {}, h("span", { class: "message", title: error.message }, error.message), h("span", { class: "where" }, `${error.op} · ${error.storeId}`)),
        ),
      ),
    );
    showEmpty("errors-empty", errors.length === 0);
  }

  function renderOps(streamsByOp) {
    const entries = Object.entries(streamsByOp).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    $("ops").replaceChildren(...entries.map(([op, n]) => h("li", {}, op, h("b", {}, count.format(n)))));
    showEmpty("ops-empty", entries.length === 0);
  }

  /** Every instance: this one first, then the others heard on the bus (address, version, start, load, state). */
  function renderInstances(self, others) {
    const row = (instance, state) =>
      h(
        "li",
        {},
        h(
          "span",
          {},
          h("span", { class: "mono" }, instance.address ?? instance.nodeId),
          " ",
          h("span", { class: "secondary inline" }, `v${instance.version} · started ${new Date(instance.startedAt).toISOString()} · ${instance.connections} connections · ${instance.streams} streams`),
        ),
        h("span", {}, state),
      );
    $("instances").replaceChildren(
      row(self, badge("this instance", "ok")),
      ...others.map((instance) => row(instance, instance.stale ? badge("stale", "warn") : h("span", {}, badge("online", "ok"), " ", time(instance.lastSeen)))),
    );
    showEmpty("instances-empty", false);
  }

  function render(status) {
    skew = status.instance.now - Date.now();
    renderHeader(status);
    renderCards(status);
    renderCharts(status);
    renderConnections(status.connections);
    renderStores(status.stores);
    renderErrors(status.errors);
    renderOps(status.streamsByOp);
    renderInstances(
      { ...status.instance, connections: status.counts.connections, streams: status.counts.streams ?? 0 },
      status.instances,
    );
    refreshTimes();
    document.body.dataset.ready = "true";
  }

  // ---- charts --------------------------------------------------------------------------------

  /** How far back the charts reach. */
  const CHART_WINDOW_MS = 5 * 60_000;
  /** Per-second rates between consecutive statuses, oldest first: { at, produced, consumed, errors }. */
  const samples = [];
  let lastTotals = null;

  /** Adds the rates since the previous status; a restarted server (totals going down) starts over. */
  function sample(status) {
    const at = status.instance.now;
    const totals = {
      at,
      produced: status.totals.entriesProduced,
      consumed: status.totals.entriesConsumed,
      errors: Object.values(status.totals.errors).reduce((sum, n) => sum + n, 0),
    };
    const previous = lastTotals;
    lastTotals = totals;
    if (previous === null || at <= previous.at || totals.produced < previous.produced || totals.consumed < previous.consumed || totals.errors < previous.errors) return;
    const seconds = (at - previous.at) / 1000;
    samples.push({
      at,
      produced: (totals.produced - previous.produced) / seconds,
      consumed: (totals.consumed - previous.consumed) / seconds,
      errors: (totals.errors - previous.errors) / seconds,
    });
    while (samples.length > 0 && samples[0].at < at - CHART_WINDOW_MS) samples.shift();
  }

  /** Draws `keys` of the samples into an SVG chart (x: the last CHART_WINDOW_MS, y: 0..the peak). */
  function drawChart(id, keys) {
    const svg = $(id);
    const now = samples.length > 0 ? samples[samples.length - 1].at : 0;
    const peak = Math.max(1, ...samples.flatMap((point) => keys.map((key) => point[key])));
    for (const key of keys) {
      const points = samples.map((point) => {
        const x = 300 - ((now - point.at) / CHART_WINDOW_MS) * 300;
        const y = 89 - (point[key] / peak) * 85;
        return `${x.toFixed(1)},${y.toFixed(1)}`;
      });
      const line = svg.querySelector(`polyline.${key}`);
      line.setAttribute("points", points.join(" "));
      line.dataset.last = samples.length > 0 ? String(samples[samples.length - 1][key]) : "0";
    }
    svg.dataset.points = String(samples.length);
    $(`${id}-peak`).textContent = samples.length < 2 ? "collecting…" : `peak ${perSecond(Math.round(peak * 10) / 10)}/s`;
  }

  /**
   * The server sends a status only when something changed: a second without one means the totals
   * stood still, so the charts move on with zero rates while the stream is live.
   */
  function tickCharts() {
    if (lastTotals === null || $("live").dataset.state !== "live") return;
    const at = serverNow();
    if (at - lastTotals.at < 1500) return;
    samples.push({ at, produced: 0, consumed: 0, errors: 0 });
    lastTotals = { ...lastTotals, at };
    while (samples.length > 0 && samples[0].at < at - CHART_WINDOW_MS) samples.shift();
    drawChart("chart-rates", ["produced", "consumed"]);
    drawChart("chart-errors", ["errors"]);
  }

  /**
   * Fills the charts with the server's last minutes of rates (/api/status/history) so they do not
   * start empty; samples the live statuses already gave are kept, older history goes before them.
   */
  async function loadHistory() {
    let body;
    try {
      const response = await fetch("/api/status/history", { cache: "no-store" });
      if (!response.ok) return;
      body = await response.json();
    } catch {
      return;
    }
    const first = samples.length > 0 ? samples[0].at : Infinity;
    const older = body.samples.filter((point) => point.at < first).map(({ at, produced, consumed, errors }) => ({ at, produced, consumed, errors }));
    samples.unshift(...older);
    const newest = samples.length > 0 ? samples[samples.length - 1].at : 0;
    while (samples.length > 0 && samples[0].at < newest - CHART_WINDOW_MS) samples.shift();
    $("chart-rates").dataset.history = String(older.length);
    drawChart("chart-rates", ["produced", "consumed"]);
    drawChart("chart-errors", ["errors"]);
  }

  function renderCharts(status) {
    sample(status);
    drawChart("chart-rates", ["produced", "consumed"]);
    drawChart("chart-errors", ["errors"]);
  }

  // ---- live updates --------------------------------------------------------------------------

  function setLive(state, text) {
    $("live").dataset.state = state;
    $("live-text").textContent = text;
  }

  function connect() {
    // EventSource reconnects by itself (the server asks for a 2 s retry).
    const source = new EventSource("/api/status/stream");
    source.addEventListener("open", () => setLive("live", "live"));
    source.addEventListener("status", (event) => {
      setLive("live", "live");
      render(JSON.parse(event.data));
    });
    source.addEventListener("error", () => setLive("reconnecting", "reconnecting…"));
  }

  // ---- admin actions -------------------------------------------------------------------------

  let toastTimer;
  // ---- one store's drill-down (#/store/<id>, from /api/stores/:storeId) ---------------------------

  let detailRequest = 0;

  function detailRoute() {
    const match = /^#\/store\/([^/]+)$/.exec(location.hash);
    return match === null ? null : decodeURIComponent(match[1]);
  }

  function renderDetail(detail) {
    const tails = detail.liveTails;
    $("detail-note").textContent = `${count.format(detail.openStreams)} open streams · ${count.format(tails.followers)} followers on ${count.format(tails.tails)} live tails${detail.spacesTruncated ? " · first spaces only" : ""}`;
    $("detail-spaces").tBodies[0].replaceChildren(
      ...detail.spaces.map((space) =>
        h(
          "tr",
          { "data-key": space.space },
          h("td", { class: "mono" }, space.space),
          h("td", { class: "num" }, count.format(space.segmentCount)),
          h("td", { class: "num" }, count.format(space.entryCount)),
          h("td", {}, time(space.lastTimestamp || null, "–")),
          h("td", { class: "num" }, space.liveTail === null ? "–" : count.format(space.liveTail.followers)),
          h("td", { class: "num" }, space.liveTail === null ? "–" : bytes(space.liveTail.windowBytes)),
          h("td", { class: "num" }, space.liveTail === null ? "–" : count.format(space.liveTail.reads)),
          h("td", { class: "num" }, space.liveTail === null ? "–" : count.format(space.liveTail.fellBehind)),
        ),
      ),
    );
    const state = (segment) => (segment.deleted ? badge("deleted", "bad") : segment.closed ? badge("closed", "warn") : badge("open", "ok"));
    $("detail-segments").tBodies[0].replaceChildren(
      ...detail.spaces.flatMap((space) => [
        ...space.segments.map((segment) =>
          h(
            "tr",
            { "data-key": `${space.space}/${segment.segment}` },
            h("td", { class: "mono" }, space.space),
            h("td", { class: "mono" }, segment.segment),
            h("td", { class: "num" }, count.format(segment.firstSequence)),
            h("td", {}, time(segment.firstTimestamp || null, "–")),
            h("td", { class: "num" }, count.format(segment.lastSequence)),
            h("td", {}, time(segment.lastTimestamp || null, "–")),
            h("td", {}, state(segment)),
          ),
        ),
        space.segmentsTruncated && h("tr", {}, h("td", { colspan: 7, class: "muted" }, `${space.space}: first ${space.segments.length} of ${count.format(space.segmentCount)} segments`)),
      ]),
    );
    const workers = detail.workers ?? [];
    $("detail-workers").tBodies[0].replaceChildren(
      ...workers.map((worker) =>
        h(
          "tr",
          { "data-key": worker.workerId },
          h("td", { class: "mono" }, worker.workerId),
          h("td", {}, time(worker.since)),
          h("td", {}, time(worker.lastSeen)),
          h("td", { class: "mono" }, Object.entries(worker.metadata).map(([key, value]) => `${key}=${value}`).join(", ") || "–"),
        ),
      ),
      detail.workersTruncated && h("tr", {}, h("td", { colspan: 4, class: "muted" }, `first ${workers.length} of ${count.format(detail.workerCount)} workers by id`)),
    );
    const behind = (n) => (n === null ? h("span", { class: "muted", title: "head not known yet" }, "–") : count.format(n));
    const lag = (ms) => (ms === null ? h("span", { class: "muted" }, "–") : ms < 1000 ? `${ms} ms` : duration(ms));
    $("detail-followers").tBodies[0].replaceChildren(
      ...detail.followers.map((follower) =>
        h(
          "tr",
          { "data-key": `${follower.connection ?? "in-process"}/${follower.channel ?? ""}/${follower.since}`, class: follower.behind > 0 ? "is-behind" : "" },
          h("td", { class: "mono" }, follower.op),
          h("td", { class: "mono" }, follower.connection === null ? h("span", { class: "muted" }, "in-process") : `${follower.connection} #${follower.channel}`),
          h(
            "td",
            { class: "mono" },
            follower.targets
              .map((target) => `${target.segment === null ? target.space : `${target.space}/${target.segment}`} @${target.position}${target.head === null ? "" : ` of ${target.head}`}`)
              .join(", "),
          ),
          h("td", { class: "num" }, behind(follower.behind)),
          h("td", { class: "num" }, lag(follower.lagMs)),
          h("td", {}, time(follower.since)),
        ),
      ),
      detail.followersTruncated && h("tr", {}, h("td", { colspan: 6, class: "muted" }, `first ${detail.followers.length} of ${count.format(detail.followerCount)} follows`)),
    );
    $("detail-followers-empty").hidden = detail.followers.length > 0;
    const leases = detail.leases ?? [];
    $("detail-leases").tBodies[0].replaceChildren(
      ...leases.map((lease) =>
        h(
          "tr",
          { "data-key": lease.key },
          h("td", { class: "mono" }, lease.key),
          h("td", { class: "mono" }, lease.holder),
          h("td", { class: "num" }, count.format(lease.token)),
          h("td", { title: new Date(lease.expiresAt).toISOString() }, `in ${duration(lease.expiresAt - serverNow())}`),
        ),
      ),
      detail.leasesTruncated && h("tr", {}, h("td", { colspan: 4, class: "muted" }, `first ${detail.leases.length} leases by key`)),
    );
    const leasesEmpty = $("detail-leases-empty");
    leasesEmpty.textContent = detail.leases === null ? "Leases could not be read (see the server log)." : "No live leases.";
    leasesEmpty.hidden = leases.length > 0;
    const workersEmpty = $("detail-workers-empty");
    workersEmpty.textContent = detail.workers === null ? "No worker or observer used this store on this instance." : "No live workers.";
    workersEmpty.hidden = workers.length > 0;
  }

  /** Shows the store the hash names (or hides the panel); a newer route wins over a slower answer. */
  async function loadDetail(scroll) {
    const id = detailRoute();
    const panel = $("store-detail");
    panel.hidden = id === null;
    if (id === null) return;
    const request = ++detailRequest;
    $("detail-id").textContent = id;
    panel.dataset.state = "loading";
    let body;
    let ok = false;
    try {
      const response = await fetch(`/api/stores/${encodeURIComponent(id)}`, { cache: "no-store" });
      body = await response.json();
      ok = response.ok;
    } catch (error) {
      body = { message: error.message };
    }
    if (request !== detailRequest) return;
    $("detail-body").hidden = !ok;
    $("detail-message").hidden = ok;
    if (ok) renderDetail(body);
    else {
      $("detail-message").textContent = body?.message ?? "The store's detail could not be loaded.";
      $("detail-note").textContent = "";
    }
    panel.dataset.state = ok ? "ready" : "error";
    if (scroll) panel.scrollIntoView({ block: "start" });
  }

  window.addEventListener("hashchange", () => void loadDetail(true));
  $("detail-refresh").addEventListener("click", () => void loadDetail(false));

  function toast(text, bad) {
    const element = $("toast");
    element.textContent = text;
    element.className = `toast${bad ? " bad" : ""}`;
    element.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => (element.hidden = true), bad ? 6000 : 3000);
  }

  // Destructive actions ask first (docs/operator.md, docs/lifecycle.md); sweep and reset do not.
  const ACTIONS = {
    close: {
      path: (id) => `/api/admin/connections/${encodeURIComponent(id)}/close`,
      done: (id) => `Connection ${id} closed`,
      confirm: (id) => `Close connection ${id}? Its streams end and its client has to reconnect.`,
    },
    evict: {
      path: (id) => `/api/admin/stores/${encodeURIComponent(id)}/evict`,
      done: (id) => `Store ${id.slice(0, 8)}… evicted`,
      confirm: (id) => `Evict store ${id}? Its open streams end; the next use opens it again.`,
    },
    reset: { path: (id) => `/api/admin/stores/${encodeURIComponent(id)}/circuit/reset`, done: (id) => `Circuit of ${id.slice(0, 8)}… reset` },
    sweep: { path: (id) => `/api/admin/stores/${encodeURIComponent(id)}/sweep`, done: (id) => `Retention of ${id.slice(0, 8)}… enforced` },
    delete: {
      path: (id) => `/api/admin/stores/${encodeURIComponent(id)}/delete`,
      done: (id) => `Store ${id} deleted`,
      confirm: (id) => `Delete store ${id}? Every entry, lease and retention of it goes, for good.`,
    },
  };

  async function act(button) {
    const action = ACTIONS[button.dataset.action];
    const id = button.dataset.id;
    if (action === undefined || id === undefined) return;
    if (action.confirm !== undefined && !window.confirm(action.confirm(id))) return;
    button.disabled = true;
    const headers = {};
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.authorization = `Bearer ${token}`;
    try {
      const response = await fetch(action.path(id), { method: "POST", headers });
      const body = await response.json().catch(() => ({}));
      if (response.ok) {
        toast(action.done(id));
        return;
      }
      toast(`${response.status} ${body.kind ?? ""}: ${body.message ?? response.statusText}`, true);
      if (response.status === 401 || response.status === 403) $("token-panel").hidden = false;
    } catch (error) {
      toast(`Request failed: ${error.message}`, true);
    } finally {
      button.disabled = false;
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (button !== null) void act(button);
  });

  $("token-button").addEventListener("click", () => {
    $("token-panel").hidden = !$("token-panel").hidden;
    if (!$("token-panel").hidden) $("token-input").focus();
  });
  $("token-panel").addEventListener("submit", (event) => {
    // Nothing is submitted anywhere: the token stays in this tab's sessionStorage.
    event.preventDefault();
    const token = $("token-input").value.trim();
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    $("token-input").value = "";
    $("token-panel").hidden = true;
    updateTokenButton();
    toast(token ? "Admin token set for this tab" : "No token entered");
  });
  $("token-clear").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    updateTokenButton();
    toast("Admin token forgotten");
  });
  function updateTokenButton() {
    $("token-button").textContent = sessionStorage.getItem(TOKEN_KEY) ? "Admin token ✓" : "Admin token";
  }

  updateTokenButton();
  void loadDetail(true);
  void loadHistory();
  setInterval(() => {
    refreshTimes();
    tickCharts();
  }, 1000);
  connect();
})();

// Live leaderboard and round pages: one websocket per page, rows patched in place.
//
// The server speaks the protocol in live/consumers.py: on open we send
// {"type": "resume", "since": <last version>} and get either the updates we missed or a
// snapshot, then {"type": "synced"}; after that every update carries the next version.
// A version gap (a lost frame) makes us ask again; a dropped socket reconnects with
// exponential backoff and resumes from the last version we applied.
//
// Everything here is written with textContent and DOM calls: row data is never parsed as HTML.

const WEI_PER_TOKEN = 10n ** 18n;
const WEI_PER_SHOWN_PLACE = 10n ** 14n; // 4 decimals shown, as the server's `tokens` filter
// Close codes after which retrying cannot help (see CloseCode in live/consumers.py).
const PERMANENT_CLOSE = new Set([4400, 4404, 4413]);
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30000;
// Re-send resume now and then on a quiet socket: pushes are at-most-once (Redis pub/sub), so
// a lost *last* update would otherwise stay unseen until the next one arrives.
const RESYNC_EVERY_MS = 60000;

// --- Formatting (mirrors tournaments/templatetags/arena.py) -------------------------------

export function formatTokens(wei, { signed = false } = {}) {
  if (wei === null || wei === undefined || wei === "") return "—";
  let value = BigInt(wei);
  const negative = value < 0n;
  if (negative) value = -value;
  const whole = value / WEI_PER_TOKEN;
  const places = (value % WEI_PER_TOKEN) / WEI_PER_SHOWN_PLACE; // truncated, never rounded up
  let text = whole.toLocaleString("en-US");
  if (places > 0n) text += "." + places.toString().padStart(4, "0").replace(/0+$/, "");
  const shownZero = whole === 0n && places === 0n;
  if (negative && (signed || !shownZero)) return `−${text}`;
  if (!negative && value > 0n && signed) return `+${text}`;
  return text;
}

export function formatScore(value, places = 4) {
  if (value === null || value === undefined) return "—";
  const negative = value < 0 || Object.is(value, -0);
  return (negative ? "−" : "+") + Math.abs(value).toFixed(places);
}

export function formatPercent(value) {
  if (value === null || value === undefined) return "—";
  return formatScore(value * 100, 2) + "%";
}

// --- The connection ------------------------------------------------------------------------

export class LiveSocket {
  /**
   * @param {string} url  ws:// or wss:// URL of the stream
   * @param {{version?: number, onMessage: Function, onState: Function}} options
   *   onMessage(message) gets snapshot, update and private messages, in order;
   *   onState(state, detail) gets "connecting", "live", "reconnecting" (detail: ms) or
   *   "offline" (detail: the server's reason).
   */
  constructor(url, { version = 0, onMessage, onState }) {
    this.url = url;
    this.version = version;
    this.onMessage = onMessage;
    this.onState = onState;
    this.attempt = 0;
    this.ws = null;
    this.retryTimer = null;
    this.lastError = null;
  }

  start() {
    setInterval(() => {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) this.resume();
    }, RESYNC_EVERY_MS);
    // Coming back online: skip the rest of the backoff.
    window.addEventListener("online", () => {
      if (this.retryTimer !== null) {
        clearTimeout(this.retryTimer);
        this.retryTimer = null;
        this.connect();
      }
    });
    this.connect();
  }

  connect() {
    this.retryTimer = null;
    this.lastError = null;
    this.onState("connecting");
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener("open", () => this.resume());
    ws.addEventListener("message", (event) => this.receive(JSON.parse(event.data)));
    ws.addEventListener("close", (event) => this.closed(event.code));
  }

  resume() {
    this.ws.send(JSON.stringify({ type: "resume", since: this.version }));
  }

  receive(message) {
    switch (message.type) {
      case "snapshot":
        this.version = message.version;
        this.onMessage(message);
        break;
      case "update":
        if (message.version <= this.version) return; // already applied
        if (message.version !== this.version + 1) {
          this.resume(); // a gap: the server replies with what we missed, or a snapshot
          return;
        }
        this.version = message.version;
        this.onMessage(message);
        break;
      case "synced":
        this.attempt = 0;
        this.onState("live");
        break;
      case "private":
        this.onMessage(message);
        break;
      case "error":
        this.lastError = message;
        break;
      default:
        break; // pong, or a newer server's message type
    }
  }

  closed(code) {
    this.ws = null;
    if (PERMANENT_CLOSE.has(code)) {
      this.onState("offline", this.lastError ? this.lastError.message : `closed (${code})`);
      return;
    }
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5)); // jitter: no thundering herd
    this.attempt += 1;
    this.onState("reconnecting", delay);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }
}

function socketUrl(path, params = {}) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const query = new URLSearchParams(params).toString();
  return `${scheme}//${window.location.host}${path}${query ? `?${query}` : ""}`;
}

function showState(indicator, state, detail) {
  if (!indicator) return;
  indicator.hidden = false;
  indicator.dataset.state = state;
  const labels = {
    connecting: "connecting…",
    live: "live",
    reconnecting: `reconnecting in ${Math.ceil((detail || 0) / 1000)} s`,
    offline: `offline${detail ? `: ${detail}` : ""}`,
  };
  indicator.textContent = labels[state] || state;
}

function el(tag, { cls, text, attrs } = {}) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, value);
  return node;
}

/** Put `rows` (elements with data-rank) in rank order, moving only what is out of place. */
function reorder(tbody, rows) {
  const sorted = [...rows].sort(
    (a, b) => Number(a.dataset.rank) - Number(b.dataset.rank) || a.id.localeCompare(b.id),
  );
  sorted.forEach((row, i) => {
    if (tbody.children[i] !== row) tbody.insertBefore(row, tbody.children[i] || null);
  });
}

// --- Leaderboard page ----------------------------------------------------------------------

export function startLeaderboard(table) {
  const tbody = table.tBodies[0];
  const slug = table.dataset.tournament;
  const metric = table.dataset.metric;
  const indicator = document.querySelector("[data-live-status]");
  const roundsLine = document.querySelector("[data-live-rounds]");
  const privateBox = document.querySelector("[data-live-private]");
  const rounds = new Map();

  const formatMetric = (value) => (metric === "payout" ? formatPercent(value) : formatScore(value));

  function rowElement(row) {
    let tr = document.getElementById(`model-${row.model_id}`);
    if (!tr) {
      tr = el("tr", { attrs: { id: `model-${row.model_id}` } });
      tr.append(
        el("td", { cls: "num", attrs: { "data-field": "rank" } }),
        el("td", { attrs: { "data-field": "model" } }),
        el("td", { attrs: { "data-field": "owner" } }),
        el("td", { cls: "num", attrs: { "data-field": "stake" } }),
        el("td", { cls: "num", attrs: { "data-field": "score" } }),
        el("td", { cls: "num", attrs: { "data-field": "rounds" } }),
      );
      tbody.append(tr);
    }
    return tr;
  }

  function setRow(row) {
    const tr = rowElement(row);
    Object.assign(tr.dataset, {
      modelId: row.model_id,
      model: row.model,
      rank: row.rank,
      score: row.score,
      stakeWei: row.stake,
      rounds: row.rounds,
    });
    const cell = (field) => tr.querySelector(`[data-field="${field}"]`);
    cell("rank").textContent = row.rank;
    const link = el("a", {
      text: row.model,
      attrs: { href: `/tournaments/${slug}/models/${encodeURIComponent(row.model)}/` },
    });
    cell("model").replaceChildren(link);
    cell("owner").textContent = row.owner;
    cell("stake").textContent = formatTokens(row.stake);
    cell("score").textContent = formatMetric(row.score);
    cell("rounds").textContent = row.rounds;
  }

  function modelRows() {
    return [...tbody.querySelectorAll("tr[data-model-id]")];
  }

  function showEmptyRow() {
    const empty = tbody.querySelector("tr.empty-row");
    const hasRows = modelRows().length > 0;
    if (hasRows && empty) empty.remove();
    if (!hasRows && !empty) {
      const tr = el("tr", { cls: "empty-row" });
      tr.append(el("td", { cls: "empty", text: "No scored rounds yet.", attrs: { colspan: "6" } }));
      tbody.append(tr);
    }
  }

  function showRounds(list) {
    for (const facts of list || []) rounds.set(facts.number, facts);
    if (!roundsLine) return;
    const parts = [...rounds.values()]
      .sort((a, b) => b.number - a.number)
      .map((r) => {
        const days = r.scored_days ? `, score day ${r.scored_days} of ${r.total_score_days}` : "";
        return `Round ${r.number}: ${r.state}${days}`;
      });
    roundsLine.textContent = parts.join(" · ");
    roundsLine.hidden = parts.length === 0;
  }

  function showPrivate(models) {
    if (!privateBox) return;
    const body = privateBox.querySelector("tbody");
    body.replaceChildren(
      ...models.map((m) => {
        const tr = el("tr", { attrs: { id: `my-model-${m.model_id}` } });
        const sub = m.submission;
        const subText = sub
          ? `round ${sub.round}: ${sub.state}${sub.counted ? ", counted" : ""}${sub.error ? ` (${sub.error})` : ""}`
          : "none yet";
        const scoreText = m.score
          ? `round ${m.score.round} day ${m.score.day}: CORR ${formatScore(m.score.corr)}, MMC ${formatScore(m.score.mmc)}`
          : "—";
        tr.append(
          el("td", { text: m.model }),
          el("td", { cls: "num", text: formatTokens(m.stake) }),
          el("td", { attrs: { "data-field": "submission" }, text: subText }),
          el("td", { text: scoreText }),
        );
        return tr;
      }),
    );
    privateBox.hidden = models.length === 0;
  }

  function apply(message) {
    if (message.type === "private") {
      showPrivate(message.models);
      return;
    }
    if (message.type === "snapshot") {
      const keep = new Set(message.rows.map((r) => `model-${r.model_id}`));
      for (const tr of modelRows()) if (!keep.has(tr.id)) tr.remove();
      rounds.clear();
    }
    for (const id of message.removed || []) document.getElementById(`model-${id}`)?.remove();
    for (const row of message.rows) setRow(row);
    reorder(tbody, modelRows());
    showEmptyRow();
    showRounds(message.rounds);
    table.dataset.version = message.version;
  }

  const socket = new LiveSocket(
    socketUrl(table.dataset.wsPath, { metric, last_n: table.dataset.lastN }),
    {
      version: Number(table.dataset.version) || 0,
      onMessage: apply,
      onState: (state, detail) => showState(indicator, state, detail),
    },
  );
  socket.start();
  return socket;
}

// --- Round page -----------------------------------------------------------------------------

export function startRound(root) {
  const indicator = document.querySelector("[data-live-status]");
  const slug = root.dataset.tournament;
  const dex = root.dataset.dex === "1";
  let lastMarkAt = null;

  function scoresBody() {
    let table = document.getElementById("round-scores");
    if (!table) {
      // No scores when the page was rendered: build the table where the placeholder was.
      const section = document.querySelector("[data-live-section='scores']");
      if (!section) return null;
      table = el("table", { cls: "data", attrs: { id: "round-scores" } });
      const head = el("tr");
      const columns = [["#", "num"], ["model"], ["owner"], ["CORR", "num"], ["MMC", "num"]];
      if (dex) columns.push(["P&L contrib.", "num"]);
      for (const [label, cls] of columns) head.append(el("th", { cls, text: label }));
      table.append(el("thead"), el("tbody"));
      table.tHead.append(head);
      const wrap = el("div", { cls: "table-wrap" });
      wrap.append(table);
      section.querySelector(".empty")?.replaceWith(wrap);
      if (!wrap.isConnected) section.append(wrap);
    }
    return table.tBodies[0];
  }

  function setRow(tbody, row) {
    let tr = document.getElementById(`model-${row.model_id}`);
    if (!tr) {
      tr = el("tr", { attrs: { id: `model-${row.model_id}` } });
      tr.append(
        el("td", { cls: "num", attrs: { "data-field": "rank" } }),
        el("td", { attrs: { "data-field": "model" } }),
        el("td", { attrs: { "data-field": "owner" } }),
        el("td", { cls: "num", attrs: { "data-field": "corr" } }),
        el("td", { cls: "num", attrs: { "data-field": "mmc" } }),
      );
      if (dex) tr.append(el("td", { cls: "num", attrs: { "data-field": "pnl_contribution" } }));
      tbody.append(tr);
    }
    Object.assign(tr.dataset, { modelId: row.model_id, rank: row.rank, corr: row.corr, mmc: row.mmc });
    const cell = (field) => tr.querySelector(`[data-field="${field}"]`);
    cell("rank").textContent = row.rank;
    cell("model").replaceChildren(
      el("a", { text: row.model, attrs: { href: `/tournaments/${slug}/models/${encodeURIComponent(row.model)}/` } }),
    );
    cell("owner").textContent = row.owner;
    cell("corr").textContent = formatScore(row.corr);
    cell("mmc").textContent = formatScore(row.mmc);
    if (cell("pnl_contribution")) cell("pnl_contribution").textContent = formatScore(row.pnl_contribution);
    if (row.payout !== null && row.payout !== undefined) setPayout(row);
  }

  function payoutsBody() {
    let table = document.getElementById("payouts");
    if (!table) {
      // The round resolved while the page was open: build the payouts table in place.
      const section = document.querySelector("[data-live-section='payouts']");
      if (!section) return null;
      section.hidden = false;
      table = el("table", { cls: "data", attrs: { id: "payouts" } });
      const head = el("tr");
      const columns = [["model"], ["CORR", "num"], ["MMC", "num"]];
      if (dex) columns.push(["P&L contrib.", "num"]);
      columns.push(["payout", "num"], ["state"]);
      for (const [label, cls] of columns) head.append(el("th", { cls, text: label }));
      table.append(el("thead"), el("tbody"));
      table.tHead.append(head);
      const wrap = el("div", { cls: "table-wrap" });
      wrap.append(table);
      section.querySelector(".empty")?.remove();
      section.append(wrap);
    }
    return table.tBodies[0];
  }

  function setPayout(row) {
    let tr = document.getElementById(`payout-${row.model_id}`);
    if (!tr) {
      const tbody = payoutsBody();
      if (!tbody) return;
      tr = el("tr", { attrs: { id: `payout-${row.model_id}` } });
      const link = el("a", { text: row.model, attrs: { href: `/tournaments/${slug}/models/${encodeURIComponent(row.model)}/` } });
      const name = el("td");
      name.append(link);
      tr.append(name, el("td", { cls: "num", text: formatScore(row.corr) }), el("td", { cls: "num", text: formatScore(row.mmc) }));
      if (dex) tr.append(el("td", { cls: "num", text: formatScore(row.pnl_contribution) }));
      const state = el("td");
      state.append(el("span", { cls: "badge" }));
      tr.append(el("td", { cls: "num", attrs: { "data-field": "payout" } }), state);
      tbody.append(tr);
    }
    const amount = tr.querySelector("[data-field='payout']");
    if (amount) {
      amount.textContent = formatTokens(row.payout, { signed: true });
      const sign = BigInt(row.payout);
      amount.classList.toggle("negative", sign < 0n);
      amount.classList.toggle("positive", sign > 0n);
    }
    const badge = tr.querySelector(".badge");
    if (badge && row.payout_state) {
      badge.className = `badge state-${row.payout_state}`;
      badge.textContent = row.payout_state;
    }
  }

  function showPnl(pnl) {
    if (!pnl) return;
    const quote = document.getElementById("weights")?.dataset.quote || "";
    const set = (id, text) => {
      const node = document.getElementById(id);
      if (node) node.textContent = text;
    };
    set("pnl-models", pnl.models);
    const trades = pnl.trades === null || pnl.trades === undefined ? "" : `, ${pnl.trades} trades at ${pnl.cost_bps.toFixed(1)} bps`;
    set("pnl-rebalance", pnl.rebalance + trades);
    set("pnl-start", `${formatTokens(pnl.start_value)} ${quote}`);
    const weights = document.getElementById("weights");
    if (weights && weights.querySelector(".empty-row")) {
      const entries = Object.entries(pnl.weights || {}).sort((a, b) => b[1] - a[1]);
      weights.tBodies[0].replaceChildren(
        ...entries.map(([symbol, w]) => {
          const tr = el("tr");
          tr.append(el("td", { text: symbol }), el("td", { cls: "num", text: formatPercent(w) }),
            el("td", { cls: "num", text: formatPercent(w * entries.length - 1) }));
          return tr;
        }),
      );
    }
    const mark = pnl.mark;
    if (!mark) return;
    set("pnl-value", `${formatTokens(mark.value)} ${quote}`);
    set("pnl-pnl", `${formatTokens(mark.pnl, { signed: true })} ${quote}`);
    set("pnl-return", formatPercent(mark.portfolio_return));
    set("pnl-benchmark", formatPercent(mark.benchmark_return));
    set("pnl-excess", formatPercent(mark.excess_return));
    const image = document.querySelector("#pnl-chart img");
    if (image && root.dataset.pnlChart && mark.at !== lastMarkAt) {
      // The chart is drawn by the server (tournaments/charts.py): fetch it again per new mark.
      image.src = `${root.dataset.pnlChart}?mark=${encodeURIComponent(mark.at)}`;
    }
    lastMarkAt = mark.at;
  }

  function showFacts(facts) {
    if (!facts) return;
    const set = (id, text) => {
      const node = document.getElementById(id);
      if (node) node.textContent = text;
    };
    set("count-submissions", facts.submissions);
    set("count-models", facts.models);
    set("count-valid", facts.counted);
    set("count-days", `${facts.scored_days} of ${facts.total_score_days}`);
    set("meta-corr", formatScore(facts.meta_corr));
    const badge = root.querySelector(".badge");
    if (badge) {
      badge.className = `badge state-${facts.state}`;
      badge.textContent = facts.state;
    }
    root.dataset.state = facts.state;
    showPnl(facts.pnl);
  }

  function apply(message) {
    if (message.type === "private") return;
    const existing = document.getElementById("round-scores");
    const tbody = message.rows.length ? scoresBody() : existing && existing.tBodies[0];
    if (tbody) {
      if (message.type === "snapshot") {
        const keep = new Set(message.rows.map((r) => `model-${r.model_id}`));
        for (const tr of tbody.querySelectorAll("tr")) if (!keep.has(tr.id)) tr.remove();
      }
      for (const id of message.removed || []) document.getElementById(`model-${id}`)?.remove();
      for (const row of message.rows) setRow(tbody, row);
      reorder(tbody, [...tbody.querySelectorAll("tr")]);
    }
    showFacts(message.round);
    root.dataset.version = message.version;
  }

  const socket = new LiveSocket(socketUrl(root.dataset.wsPath), {
    version: Number(root.dataset.version) || 0,
    onMessage: apply,
    onState: (state, detail) => showState(indicator, state, detail),
  });
  socket.start();
  return socket;
}

// Start whatever live part this page has.
const leaderboardTable = document.querySelector("table#leaderboard[data-ws-path]");
if (leaderboardTable && "WebSocket" in window) startLeaderboard(leaderboardTable);
const roundRoot = document.querySelector("[data-live-round][data-ws-path]");
if (roundRoot && "WebSocket" in window) startRound(roundRoot);

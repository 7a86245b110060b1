// The dashboard's page: one HTML document with its style and script inline.
// The page holds no data: its script asks `api/status` (relative to the
// page, so that it works wherever the handler is mounted) every `pollMs`,
// with the token as a bearer header, and renders what comes back with
// `textContent` only. The script and the style never change, so that the
// Content-Security-Policy names them by hash; the title, the poll interval
// and whether a token is needed reach the page as escaped text and data
// attributes.

/** The page's style sheet. */
export const PAGE_STYLE: string = String.raw`
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --card: #fff; --fg: #1b1f24; --muted: #5f6b7a;
  --line: #dde1e6; --accent: #2363d1; --good: #1a7f37; --warn: #b35900;
  --bad: #c62828; --chip: #eef1f5;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0f1216; --card: #171b21; --fg: #e6e9ed; --muted: #97a1ad;
    --line: #2a3038; --accent: #6ea0ff; --good: #4cc26a; --warn: #f0a04b;
    --bad: #ff6b6b; --chip: #222831;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
header {
  display: flex; flex-wrap: wrap; align-items: center; gap: 12px;
  padding: 12px 20px; border-bottom: 1px solid var(--line); background: var(--card);
}
h1 { font-size: 17px; margin: 0 auto 0 0; }
h2 { font-size: 15px; margin: 0; }
h3 { font-size: 13px; margin: 16px 0 6px; color: var(--muted); font-weight: 600; }
main { padding: 16px 20px; max-width: 1280px; margin: 0 auto; }
small, .muted { color: var(--muted); }
.state::before {
  content: ""; display: inline-block; width: 8px; height: 8px; border-radius: 50%;
  margin-right: 6px; background: var(--muted); vertical-align: middle;
}
.state[data-state="live"]::before { background: var(--good); }
.state[data-state="offline"]::before, .state[data-state="unauthorized"]::before { background: var(--bad); }
.toggle { display: inline-flex; border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
.toggle label { padding: 4px 10px; cursor: pointer; user-select: none; }
.toggle input { position: absolute; opacity: 0; pointer-events: none; }
.toggle label:has(input:checked) { background: var(--accent); color: #fff; }
.toggle label:has(input:focus-visible) { outline: 2px solid var(--accent); outline-offset: -2px; }
.card {
  background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 14px 16px; margin-bottom: 16px;
}
.card-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 10px; margin-bottom: 10px; }
.chip {
  display: inline-block; padding: 1px 8px; border-radius: 10px; background: var(--chip);
  font-size: 12px; color: var(--muted);
}
td .chip, h2 + .chip, small + .chip { margin-left: 6px; }
.chip.bad { color: var(--bad); }
.chip.warn { color: var(--warn); }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(128px, 1fr)); gap: 8px; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; min-width: 0; }
.tile .label { font-size: 12px; color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.tile .value { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.tile .sub { font-size: 12px; color: var(--muted); font-variant-numeric: tabular-nums; }
.tile.key .value { color: var(--accent); }
.tile.alert .value { color: var(--warn); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; }
td.wrap { white-space: normal; word-break: break-word; min-width: 11em; }
td.res { white-space: normal; overflow-wrap: anywhere; min-width: 9em; }
tr.cooling td { color: var(--warn); }
meter { width: 90px; vertical-align: middle; }
.empty { color: var(--muted); margin: 4px 0; }
form.token {
  max-width: 420px; margin: 48px auto; background: var(--card); border: 1px solid var(--line);
  border-radius: 8px; padding: 18px 20px;
}
form.token input {
  width: 100%; padding: 7px 9px; margin: 6px 0 10px; font: inherit; color: var(--fg);
  background: var(--bg); border: 1px solid var(--line); border-radius: 6px;
}
form.token button {
  font: inherit; padding: 6px 14px; border: 0; border-radius: 6px; background: var(--accent);
  color: #fff; cursor: pointer;
}
#token-message { color: var(--bad); min-height: 1.4em; margin: 8px 0 0; }
[hidden] { display: none !important; }
`;

/** The page's script. */
export const PAGE_SCRIPT: string = String.raw`
(function () {
  "use strict";
  var body = document.body;
  var pollMs = Math.max(100, Number(body.getAttribute("data-poll-ms")) || 2000);
  var needsToken = body.getAttribute("data-auth") !== "none";
  var storageKey = "sluice.dashboard.token:" + location.pathname;
  var token = null;
  var view = "window";
  var timer = 0;
  var polls = 0;
  var last = null;
  var byId = function (id) { return document.getElementById(id); };

  function store(name, value) {
    try {
      if (value === null) sessionStorage.removeItem(name);
      else sessionStorage.setItem(name, value);
    } catch (e) { /* storage may be off: the token lives in memory */ }
  }
  function load(name) {
    try { return sessionStorage.getItem(name); } catch (e) { return null; }
  }

  // The token arrives in the fragment, which browsers never send: keep it
  // for this tab and take it out of the address bar and history.
  function takeToken() {
    var hash = location.hash.replace(/^#/, "");
    if (hash !== "") {
      var given = new URLSearchParams(hash).get("token");
      if (given) {
        token = given;
        store(storageKey, given);
      }
      history.replaceState(null, "", location.pathname + location.search);
    }
    if (!token) token = load(storageKey);
    var saved = load("sluice.dashboard.view");
    if (saved === "total" || saved === "window") view = saved;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var name in attrs) {
        if (attrs[name] !== undefined && attrs[name] !== null) {
          node.setAttribute(name, String(attrs[name]));
        }
      }
    }
    if (children !== undefined) append(node, children);
    return node;
  }
  function append(node, children) {
    if (!Array.isArray(children)) children = [children];
    for (var i = 0; i < children.length; i++) {
      var child = children[i];
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
    }
  }
  function num(value) { return typeof value === "number" && isFinite(value) ? value : 0; }
  function count(value) { return String(Math.round(num(value))); }
  function percent(value) { return (num(value) * 100).toFixed(1) + " %"; }
  function ms(value) {
    value = num(value);
    if (value >= 60000) return (value / 60000).toFixed(1) + " min";
    if (value >= 10000) return (value / 1000).toFixed(0) + " s";
    if (value >= 1000) return (value / 1000).toFixed(1) + " s";
    return value.toFixed(value < 10 && value !== 0 ? 1 : 0) + " ms";
  }
  function clock(time) {
    var date = new Date(num(time));
    return date.toLocaleTimeString([], { hour12: false });
  }

  function setState(state, text) {
    var node = byId("state");
    node.setAttribute("data-state", state);
    node.textContent = text;
  }

  function tile(field, label, value, text, sub, kind) {
    return el("div", { "class": "tile" + (kind ? " " + kind : ""), "data-tile": field, "data-value": value }, [
      el("div", { "class": "label", title: label }, label),
      el("div", { "class": "value" }, text),
      sub ? el("div", { "class": "sub" }, sub) : null,
    ]);
  }

  function zero() {
    return {
      calls: 0, originCalls: 0, backgroundOriginCalls: 0, hits: 0, staleServed: 0,
      misses: 0, joins: 0, failures: 0, rejections: 0, retries: 0, storeErrors: 0,
      cooldowns: 0, hitRatio: 0, originCallsSaved: 0,
      waits: { count: 0, totalMs: 0, p95Ms: 0, maxMs: 0 },
      latency: { count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 },
    };
  }
  // Whether the cache was asked at all: a ratio of nothing is no ratio.
  function looked(c) {
    return num(c.hitRatio) > 0 || num(c.hits) + num(c.misses) + num(c.staleServed) > 0;
  }
  function countsOf(series) {
    return series && series[view] ? series[view] : zero();
  }

  // A resource key is the scope's prefix, "ratelimit", and the resource
  // with % and : percent-encoded.
  function resourceLabel(key, prefix) {
    var rest = key.indexOf(prefix + ":") === 0 ? key.slice(prefix.length + 1) : key;
    var at = rest.indexOf("ratelimit:");
    var scope = at > 0 ? rest.slice(0, at - 1) : "";
    var name = at >= 0 ? rest.slice(at + 10) : rest;
    try { name = decodeURIComponent(name); } catch (e) { /* shown as is */ }
    return scope ? scope + " · " + name : name;
  }

  function renderClient(client, time) {
    var own = null;
    for (var i = 0; i < client.metrics.length; i++) {
      if (client.metrics[i].client === client.keyPrefix) own = client.metrics[i];
    }
    var c = countsOf(own);
    var status = client.status || { resources: [], flights: 0, closed: false };
    var resources = status.resources || [];
    var cooling = 0;
    for (var r = 0; r < resources.length; r++) if (num(resources[r].cooldownMs) > 0) cooling++;

    var head = el("div", { "class": "card-head" }, [
      el("h2", null, client.name),
      client.name !== client.keyPrefix ? el("small", null, client.keyPrefix) : null,
      status.closed ? el("span", { "class": "chip bad", "data-field": "closed" }, "closed") : null,
    ]);
    var tiles = el("div", { "class": "tiles" }, [
      tile("hitRatio", "Hit ratio", num(c.hitRatio), looked(c) ? percent(c.hitRatio) : "–", count(c.hits) + " hits · " + count(c.misses) + " misses", "key"),
      tile("originCallsSaved", "Origin calls saved", num(c.originCallsSaved), count(c.originCallsSaved), count(c.joins) + " joined · " + count(c.staleServed) + " stale", "key"),
      tile("calls", "Calls", num(c.calls), count(c.calls), count(c.failures) + " failed"),
      tile("originCalls", "Origin calls", num(c.originCalls), count(c.originCalls), count(c.backgroundOriginCalls) + " in background"),
      tile("latencyP50", "Latency p50", num(c.latency.p50Ms), ms(c.latency.p50Ms), "p99 " + ms(c.latency.p99Ms)),
      tile("latencyP95", "Latency p95", num(c.latency.p95Ms), ms(c.latency.p95Ms), "max " + ms(c.latency.maxMs)),
      tile("waits", "Rate-limit waits", num(c.waits.count), count(c.waits.count), "p95 " + ms(c.waits.p95Ms), c.waits.count > 0 ? "alert" : ""),
      tile("rejections", "Rejections", num(c.rejections), count(c.rejections), null, c.rejections > 0 ? "alert" : ""),
      tile("retries", "Retries", num(c.retries), count(c.retries), count(c.cooldowns) + " cooldowns set"),
      tile("storeErrors", "Store errors", num(c.storeErrors), count(c.storeErrors), null, c.storeErrors > 0 ? "alert" : ""),
      tile("flights", "In flight now", num(status.flights), count(status.flights)),
      tile("cooldowns", "Active cooldowns", cooling, count(cooling), null, cooling > 0 ? "alert" : ""),
    ]);
    var card = el("section", { "class": "card", "data-client": client.name, "data-key-prefix": client.keyPrefix }, [head, tiles]);

    if (client.metrics.length > 1 || (client.metrics.length === 1 && !own)) {
      var rows = client.metrics.map(function (series) {
        var s = countsOf(series);
        return el("tr", { "data-series": series.client }, [
          el("td", null, series.client),
          el("td", { "class": "num", "data-field": "calls" }, count(s.calls)),
          el("td", { "class": "num", "data-field": "originCalls" }, count(s.originCalls)),
          el("td", { "class": "num", "data-field": "originCallsSaved" }, count(s.originCallsSaved)),
          el("td", { "class": "num", "data-field": "hitRatio" }, looked(s) ? percent(s.hitRatio) : "–"),
          el("td", { "class": "num" }, ms(s.latency.p50Ms) + " / " + ms(s.latency.p95Ms)),
          el("td", { "class": "num" }, count(s.waits.count) + " · p95 " + ms(s.waits.p95Ms)),
          el("td", { "class": "num" }, count(s.rejections)),
          el("td", { "class": "num" }, count(s.retries)),
          el("td", { "class": "num" }, count(s.storeErrors)),
        ]);
      });
      append(card, [
        el("h3", null, "Client and scopes"),
        el("div", { "class": "scroll" }, el("table", { "class": "series" }, [
          el("thead", null, el("tr", null, [
            el("th", null, "series"), el("th", { "class": "num" }, "calls"),
            el("th", { "class": "num" }, "origin calls"), el("th", { "class": "num" }, "saved"),
            el("th", { "class": "num" }, "hit ratio"), el("th", { "class": "num" }, "p50 / p95"),
            el("th", { "class": "num" }, "waits"), el("th", { "class": "num" }, "rejected"),
            el("th", { "class": "num" }, "retries"), el("th", { "class": "num" }, "store errors"),
          ])),
          el("tbody", null, rows),
        ])),
      ]);
    }

    var perResource = {};
    for (var m = 0; m < client.metrics.length; m++) {
      var list = client.metrics[m].resources || [];
      for (var k = 0; k < list.length; k++) perResource[list[k].resource] = list[k];
    }
    append(card, el("h3", null, "Rate limits"));
    if (resources.length === 0) {
      append(card, el("p", { "class": "empty" }, "No admission asked for lately."));
    } else {
      var limitRows = resources.map(function (res) {
        var st = res.status;
        var seen = perResource[res.resource];
        var cooldown = num(res.cooldownMs);
        var cells = [el("td", { "class": "res", title: res.resource }, [
          resourceLabel(res.resource, client.keyPrefix),
          st && res.error ? el("span", { "class": "chip bad", title: res.error }, "store failed") : null,
        ])];
        if (st) {
          var used = Math.max(0, num(st.limit) - num(st.remaining));
          var reset = Math.max(0, Date.parse(st.resetTime) - num(time));
          cells.push(
            el("td", { "class": "num", "data-field": "used", "data-value": used, "data-limit": num(st.limit) }, [
              el("meter", { min: 0, max: Math.max(1, num(st.limit)), value: used, low: num(st.limit) * 0.5, high: num(st.limit) * 0.8, optimum: 0 }),
              " " + count(used) + " / " + count(st.limit),
            ]),
            el("td", { "class": "num", "data-field": "remaining", "data-value": num(st.remaining) }, count(st.remaining)),
            el("td", { "class": "num" }, isFinite(reset) ? ms(reset) : "–"),
          );
          if (typeof st.userReserved === "number") {
            cells.push(
              el("td", { "data-field": "split", "data-user-reserved": st.userReserved, "data-background-max": st.backgroundMax }, [
                "user ≥ " + count(st.userReserved) + " · background ≤ " + count(st.backgroundMax),
                st.backgroundPaused ? el("span", { "class": "chip warn" }, "paused") : null,
              ]),
              el("td", { "class": "wrap muted", "data-field": "reason" }, st.reason || ""),
            );
          } else {
            cells.push(el("td", { "class": "muted" }, "–"), el("td", null, ""));
          }
        } else {
          cells.push(el("td", { "class": "wrap", colspan: 5 }, el("span", { "class": "chip bad" }, "store: " + (res.error || "no answer"))));
        }
        var server = res.server;
        var announced = "–";
        if (server && typeof server.limit === "number") {
          announced = count(server.limit) + (typeof server.windowMs === "number" ? " / " + ms(server.windowMs) : "");
          if (typeof server.remaining === "number") announced += " · " + count(server.remaining) + " left";
        }
        cells.push(
          el("td", { "class": "num", "data-field": "server", "data-above-server": res.aboveServer === true ? "true" : null }, [
            announced,
            res.aboveServer === true ? el("span", { "class": "chip bad", title: "The configured budget asks for more than the server announced" }, "above server") : null,
          ]),
          el("td", { "class": "num", "data-field": "cooldown", "data-value": cooldown }, cooldown > 0 ? ms(cooldown) : "–"),
          el("td", { "class": "num" }, seen ? count(seen.waits) + " (" + ms(seen.waitedMs) + ") · " + count(seen.rejections) : "–"),
        );
        return el("tr", { "data-resource": res.resource, "class": cooldown > 0 ? "cooling" : null }, cells);
      });
      append(card, el("div", { "class": "scroll" }, el("table", { "class": "limits" }, [
        el("thead", null, el("tr", null, [
          el("th", null, "resource"), el("th", { "class": "num" }, "used / limit"),
          el("th", { "class": "num" }, "remaining"), el("th", { "class": "num" }, "resets in"),
          el("th", null, "adaptive split"), el("th", null, "reason"),
          el("th", { "class": "num" }, "server announced"),
          el("th", { "class": "num" }, "cooldown"),
          el("th", { "class": "num", title: "Since start: waits for budget (time waited) · calls refused" }, "waits · refused"),
        ])),
        el("tbody", null, limitRows),
      ])));
    }
    return card;
  }

  function renderErrors(errors) {
    var section = byId("errors-body");
    section.replaceChildren();
    if (!errors || errors.length === 0) {
      append(section, el("p", { "class": "empty" }, "None."));
      return;
    }
    var rows = errors.map(function (e) {
      return el("tr", { "data-error-stage": e.stage }, [
        el("td", null, clock(e.time)),
        el("td", null, e.client),
        el("td", null, e.stage),
        el("td", null, e.name + (e.code ? " (" + e.code + ")" : "")),
        el("td", null, e.failedOpen ? "carried on" : "failed"),
        el("td", { "class": "wrap" }, (e.method ? e.method + " " : "") + (e.url || "")),
        el("td", { "class": "wrap" }, e.message),
      ]);
    });
    append(section, el("div", { "class": "scroll" }, el("table", null, [
      el("thead", null, el("tr", null, [
        el("th", null, "time"), el("th", null, "client"), el("th", null, "stage"),
        el("th", null, "error"), el("th", null, "outcome"), el("th", null, "request"),
        el("th", null, "message"),
      ])),
      el("tbody", null, rows),
    ])));
  }

  function render(data) {
    var clients = byId("clients");
    clients.replaceChildren();
    var list = Array.isArray(data.clients) ? data.clients : [];
    if (list.length === 0) append(clients, el("p", { "class": "empty" }, "No clients."));
    for (var i = 0; i < list.length; i++) append(clients, renderClient(list[i], data.time));
    renderErrors(data.recentErrors);
    var seconds = Math.round(num(data.windowMs) / 1000);
    byId("view-window-label").textContent = "Last " + (seconds >= 120 ? Math.round(seconds / 60) + " min" : seconds + " s");
    var updated = byId("updated");
    updated.setAttribute("data-time", String(num(data.time)));
    updated.textContent = "updated " + clock(data.time);
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(poll, pollMs);
  }

  function showForm(message) {
    clearTimeout(timer);
    byId("dashboard").hidden = true;
    byId("token-form").hidden = false;
    byId("token-message").textContent = message || "";
    setState("unauthorized", "Token needed");
    byId("token-input").focus();
  }

  function poll() {
    var headers = { accept: "application/json" };
    if (needsToken) headers.authorization = "Bearer " + token;
    fetch("api/status", { headers: headers, cache: "no-store", credentials: "same-origin", redirect: "error" })
      .then(function (response) {
        if (response.status === 401) {
          token = null;
          store(storageKey, null);
          showForm("The dashboard refused this token.");
          return;
        }
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json().then(function (data) {
          last = data;
          render(data);
          polls++;
          body.setAttribute("data-polls", String(polls));
          setState("live", "Live");
          schedule();
        });
      })
      .catch(function () {
        setState("offline", "Cannot reach the dashboard; retrying");
        schedule();
      });
  }

  function start() {
    byId("token-form").hidden = true;
    byId("dashboard").hidden = false;
    setState("connecting", "Connecting");
    poll();
  }

  byId("token-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = byId("token-input");
    var given = input.value.trim();
    input.value = "";
    if (given === "") return;
    token = given;
    store(storageKey, given);
    start();
  });
  var radios = document.querySelectorAll("input[name=view]");
  for (var i = 0; i < radios.length; i++) {
    radios[i].addEventListener("change", function (event) {
      view = event.target.value === "total" ? "total" : "window";
      store("sluice.dashboard.view", view);
      if (last) render(last);
    });
  }

  takeToken();
  byId(view === "total" ? "view-total" : "view-window").checked = true;
  if (needsToken && !token) showForm("");
  else start();
})();
`;

/** Escapes text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page, with its title, poll interval and whether it needs a token. */
export function pageHtml(
  title: string,
  pollMs: number,
  needsToken: boolean,
): string {
  const name = escapeHtml(title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${name}</title>
<style>${PAGE_STYLE}</style>
</head>
<body data-poll-ms="${pollMs}" data-auth="${needsToken ? "token" : "none"}">
<header>
<h1>${name}</h1>
<span id="state" class="state" data-state="connecting">Connecting</span>
<span id="updated" class="muted"></span>
<span class="toggle" role="radiogroup" aria-label="Counts over">
<label><input type="radio" name="view" id="view-window" value="window"><span id="view-window-label">Last minute</span></label>
<label><input type="radio" name="view" id="view-total" value="total">Since start</label>
</span>
</header>
<form id="token-form" class="token" hidden autocomplete="off">
<h2>Dashboard token</h2>
<p class="muted">Open the link printed with the token (<code>#token=…</code>), or paste the token here. It is kept for this tab only.</p>
<label for="token-input">Token</label>
<input id="token-input" type="password" autocomplete="off" spellcheck="false">
<button type="submit">Open</button>
<p id="token-message" role="alert"></p>
</form>
<main id="dashboard" hidden>
<div id="clients"></div>
<section class="card" id="errors">
<div class="card-head"><h2>Recent errors</h2></div>
<div id="errors-body"><p class="empty">None.</p></div>
</section>
</main>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}

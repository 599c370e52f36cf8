// brainvcs review: the page over the read-only JSON endpoints (no framework, no network beyond this server).
// Every text from the repository is inserted with textContent, never as HTML.
"use strict";

(function () {
  const SVGNS = "http://www.w3.org/2000/svg";
  const LANE = 14, ROW = 42, MID = 12;
  const state = { overview: null, commits: [], byId: new Map(), selected: null, expanded: new Set() };

  // --- errors: a thrown error anywhere is counted on <body> (the browser tests read it) and shown ---------
  function reportError(message) {
    const body = document.body;
    body.dataset.jsErrors = String(Number(body.dataset.jsErrors || "0") + 1);
    const box = document.getElementById("errors");
    box.hidden = false;
    box.appendChild(el("div", {}, "Page error: " + message));
  }
  window.addEventListener("error", (e) => reportError(e.message || String(e.error)));
  window.addEventListener("unhandledrejection", (e) => reportError(String(e.reason && e.reason.message || e.reason)));

  // --- helpers ---------------------------------------------------------------------------------------
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" || typeof child === "number" ? document.createTextNode(String(child)) : child);
    }
    return node;
  }
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVGNS, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return node;
  }
  class ApiError extends Error {
    constructor(body) { super(body && body.error || "request failed"); this.hint = body && body.hint; }
  }
  async function api(path, params) {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params || {})) {
      if (Array.isArray(value)) value.forEach((v) => query.append(key, v));
      else if (value !== undefined && value !== null && value !== "") query.append(key, value);
    }
    const response = await fetch("api/" + path + (query.toString() ? "?" + query : ""));
    const body = await response.json();
    if (!response.ok) throw new ApiError(body);
    return body;
  }
  const short = (id) => id ? id.slice(0, 7) : "";
  const fmt = (x) => typeof x === "number" ? (Number.isInteger(x) ? String(x) : x.toPrecision(4).replace(/\.?0+$/, "")) : JSON.stringify(x);
  const signed = (x) => (x > 0 ? "+" : "") + fmt(x);
  const when = (c) => new Date(c.author_time * 1000).toISOString().replace("T", " ").slice(0, 16) + " UTC";
  function learnedLine(commit) {
    const parts = commit.message.split("\n\n");
    return parts.length > 1 && !/^[A-Z][\w-]+: /.test(parts[1]) ? parts[1].split("\n")[0] : "";
  }
  function showProblem(container, error) {
    if (!(error instanceof ApiError)) reportError(error && error.message || String(error));  // a bug, not a bad request
    container.replaceChildren(el("div", { class: "card", role: "status" },
      el("strong", {}, error.message), error.hint ? el("p", { class: "muted" }, error.hint) : null));
  }

  // --- history graph ---------------------------------------------------------------------------------
  function layoutLanes(commits) {
    const lanes = [];
    return commits.map((c) => {
      let lane = lanes.indexOf(c.id);
      if (lane < 0) { lane = lanes.indexOf(null); if (lane < 0) { lane = lanes.length; lanes.push(null); } }
      const before = lanes.slice();
      lanes[lane] = c.parents[0] || null;
      for (let i = 0; i < lanes.length; i++) if (i !== lane && before[i] === c.id) lanes[i] = null;
      const parentLanes = [lane];
      for (const p of c.parents.slice(1)) {
        let l = lanes.indexOf(p);
        if (l < 0) { l = lanes.indexOf(null); if (l < 0) { l = lanes.length; lanes.push(null); } lanes[l] = p; }
        parentLanes.push(l);
      }
      while (lanes.length && lanes[lanes.length - 1] === null) lanes.pop();
      return { commit: c, lane, before, after: lanes.slice(), parentLanes };
    });
  }
  const colors = ["#0a58ca", "#1a7f37", "#8250df", "#bc4c00", "#0e7490", "#b42318"];
  function rowGraph(row, width) {
    const x = (i) => 7 + i * LANE, mid = MID;
    const g = svg("svg", { width, height: ROW, "aria-hidden": "true" });
    row.before.forEach((id, i) => {
      if (id === null) return;
      const to = id === row.commit.id ? row.lane : i;
      g.appendChild(svg("line", { x1: x(i), y1: 0, x2: x(to), y2: mid, stroke: colors[i % colors.length], "stroke-width": 2 }));
    });
    row.after.forEach((id, i) => {
      if (id === null) return;
      const fromDot = row.parentLanes.includes(i) && row.commit.parents.includes(id);
      g.appendChild(svg("line", { x1: x(fromDot ? row.lane : i), y1: mid, x2: x(i), y2: ROW,
                                  stroke: colors[i % colors.length], "stroke-width": 2 }));
    });
    const merge = row.commit.parents.length > 1;
    g.appendChild(svg("circle", { cx: x(row.lane), cy: mid, r: merge ? 5 : 4, fill: merge ? "#fff" : colors[row.lane % colors.length],
                                  stroke: colors[row.lane % colors.length], "stroke-width": 2 }));
    return g;
  }
  function isAutosave(c) {
    return c.trailers["Brain-Source"] === "autosave" && c.parents.length === 1 && !(state.overview.labels[c.id] || []).length;
  }
  function renderGraph() {
    const rows = layoutLanes(state.commits);
    const width = 14 + LANE * Math.max(1, ...rows.map((r) => Math.max(r.before.length, r.after.length, r.lane + 1)));
    const list = el("ol", { class: "graph", "aria-label": "Commits, newest first", style: "list-style:none;margin:0;padding:0" });
    let i = 0;
    while (i < rows.length) {
      const row = rows[i];
      // Fold a run of autosave commits (a straight chain) into one line that can be opened.
      let run = 0;
      while (i + run < rows.length && isAutosave(rows[i + run].commit) &&
             (run === 0 || rows[i + run - 1].commit.parents[0] === rows[i + run].commit.id)) run++;
      if (run >= 3 && !state.expanded.has(row.commit.id)) {
        list.appendChild(commitRow(row, width));
        const first = row.commit.id;
        list.appendChild(el("li", { class: "row folded" }, rowGraph(rows[i + 1], width),
          el("button", { type: "button", onclick: () => { state.expanded.add(first); renderGraph(); } },
            `${run - 1} more autosaves…`)));
        i += run;
        continue;
      }
      list.appendChild(commitRow(row, width));
      i++;
    }
    document.getElementById("graph").replaceChildren(list);
  }
  function commitRow(row, width) {
    const c = row.commit;
    const labels = (state.overview.labels[c.id] || []).map((l) => el("span", { class: "label" + (l.startsWith("tag:") ? " tag" : "") }, l));
    const learned = learnedLine(c);
    return el("li", { class: "row" + (c.id === state.selected ? " selected" : ""), "data-commit": c.id },
      rowGraph(row, width),
      el("div", { class: "text" },
        el("div", { class: "line" }, labels, el("a", { class: "subject", href: "#/commit/" + c.id, title: c.summary + "\n" + c.id },
          c.summary || "(no message)"), " ", el("span", { class: "muted" }, short(c.id))),
        el("div", { class: "learned", title: learned }, learned || "\u00a0")));
  }

  // --- one commit, or two revisions compared ----------------------------------------------------------
  function recordStat(r) {
    switch (r.type) {
      case "float": return `${r.changed} changed (${r.increased} up, ${r.decreased} down), mean Δ ${signed(r.mean_delta)}, max |Δ| ${fmt(r.max_abs_delta)}`;
      case "counter": return `${r.changed} changed, total ${signed(r.total_delta)} (${r.increased} up, ${r.decreased} down)`;
      case "keys": return [r.added ? `${r.added} added` : "", r.removed ? `${r.removed} removed` : ""].filter(Boolean).join(", ");
      case "list": return `${r.old_count} → ${r.new_count} items: +${r.appended} appended, ${r.dropped} rolled off, ${r.changed} changed, ${r.inserted} inserted, ${r.removed} removed`;
      case "tensor": return `${r.old ? r.old.dtype + " " + JSON.stringify(r.old.shape) : "(new)"} → ${r.new ? r.new.dtype + " " + JSON.stringify(r.new.shape) : "(removed)"}` +
        (r.changed === null || r.changed === undefined ? "" : `, ${r.changed} of ${r.elements} elements changed, ‖Δ‖₂ ${fmt(r.l2)}, max |Δ| ${fmt(r.max_abs)}`);
      default: return "changed";
    }
  }
  function itemLine(item, rev) {
    const path = item.path;
    let text, cls = "";
    if ("key" in item) {  // a key added to (or removed from) a map: a new word, a new connection...
      const added = item.op !== "drop";
      text = [added ? "+ " : "− ", el("strong", { class: "key" }, String(item.key)), ": " + JSON.stringify(item.value)];
      cls = added ? "add" : "del";
    } else if (item.op === "append" || item.op === "insert") { text = `+ ${JSON.stringify(item.value)}`; cls = "add"; }
    else if (item.op === "drop" || item.op === "remove") { text = `− ${JSON.stringify(item.value)}`; cls = "del"; }
    else if ("delta" in item) { text = `${path}: ${fmt(item.old)} → ${fmt(item.new)} (${signed(item.delta)})`; cls = item.delta >= 0 ? "up" : "down"; }
    else if ("old" in item || "new" in item) { text = `${path}: ${JSON.stringify(item.old)} → ${JSON.stringify(item.new)}`; }
    else text = JSON.stringify(item);
    const raw = el("pre", { class: "raw", hidden: true });
    const button = el("button", { type: "button", "aria-label": "raw value of " + path, onclick: async () => {
      raw.hidden = !raw.hidden;
      if (!raw.hidden && !raw.textContent) {
        try { raw.textContent = JSON.stringify(await api("value", { rev, path }), null, 2); }
        catch (e) { raw.textContent = e.message + (e.hint ? "\n" + e.hint : ""); }
      }
    } }, "raw");
    return el("li", {}, el("span", { class: cls }, text), " ", button, raw);
  }
  function recordView(r, rev) {
    const items = r.type === "keys"
      ? [...(r.added_items || []).map((i) => ({ ...i, op: "append" })), ...(r.removed_items || []).map((i) => ({ ...i, op: "drop" }))]
      : (r.items || []);
    return el("details", { class: "record", open: items.length <= 3 || undefined },
      el("summary", {}, el("code", {}, r.path), " — ", recordStat(r)),
      el("ul", { class: "items" }, items.map((i) => itemLine(i, rev))));
  }
  function moduleCard(m, a, b) {
    const card = el("article", { class: "card", "data-module": m.module },
      el("h3", {}, m.module, " ", el("span", { class: "muted" }, m.status)),
      el("p", {}, m.summary || ""),
      m.records.map((r) => recordView(r, b)));
    const more = el("button", { type: "button", onclick: async () => {
      more.disabled = true;
      try {
        const full = await api("diff", { a, b, module: m.module, limit: 200 });
        const mod = full.modules.find((x) => x.module === m.module);
        if (mod) card.replaceWith(moduleCard(mod, a, b));
      } catch (e) { showProblem(card, e); }
    } }, "show up to 200 items per path");
    card.appendChild(more);
    return card;
  }
  function histogramSvg(h) {
    const width = 460, height = 190, pad = 34;
    const box = svg("svg", { width, height, role: "img", "aria-label": `histogram of ${h.count} float changes`, class: "histogram" });
    box.appendChild(svg("title", {}, `${h.count} float changes (weights, thresholds, potentials), new − old`));
    if (!h.count) { box.appendChild(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "no float changed")); return box; }
    const top = Math.max(...h.counts), bar = (width - 2 * pad) / h.counts.length, step = (h.high - h.low) / h.counts.length;
    h.counts.forEach((count, i) => {
      const hh = (height - 2 * pad) * count / top;
      const centre = h.low + (i + 0.5) * step;
      box.appendChild(svg("rect", { x: pad + i * bar, y: height - pad - hh, width: Math.max(1, bar - 1), height: hh,
                                    fill: centre >= 0 ? "#1a7f37" : "#b42318" },
        svg("title", {}, `${fmt(h.low + i * step)} to ${fmt(h.low + (i + 1) * step)}: ${count}`)));
    });
    box.appendChild(svg("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, stroke: "#444" }));
    box.appendChild(svg("text", { x: pad, y: height - pad + 15, "font-size": 11 }, fmt(h.low)));
    box.appendChild(svg("text", { x: width - pad, y: height - pad + 15, "font-size": 11, "text-anchor": "end" }, fmt(h.high)));
    box.appendChild(svg("text", { x: width / 2, y: 16, "font-size": 12, "text-anchor": "middle" }, `float changes: ${h.count}`));
    return box;
  }
  function diffView(diff, a, b) {
    return el("div", {},
      el("p", { class: "summary", "data-summary": "" }, diff.summary || "nothing changed"),
      el("div", { id: "histogram" }),
      el("div", { class: "cards" }, diff.modules.map((m) => moduleCard(m, a, b))));
  }
  async function fillHistogram(a, b) {
    const slot = document.getElementById("histogram");
    try { const h = await api("histogram", { a, b }); if (slot) slot.replaceChildren(histogramSvg(h)); }
    catch (e) { if (slot) slot.replaceChildren(el("p", { class: "muted" }, e.message)); }
  }
  async function showCommit(rev) {
    const view = document.getElementById("view");
    try {
      const shown = await api("show/" + encodeURIComponent(rev));
      const c = shown.commit;
      state.selected = c.id;
      renderGraph();
      const parent = c.parents[0];
      const labels = (state.overview.labels[c.id] || []).map((l) => el("span", { class: "label" }, l));
      view.replaceChildren(
        el("h2", { class: "subject" }, c.summary || "(no message)"),
        el("p", { class: "muted" }, labels, `${short(c.id)} · ${c.author} · ${when(c)}`,
          c.parents.length ? [" · parents ", c.parents.map((p) => [el("a", { href: "#/commit/" + p }, short(p)), " "])] : " · first commit",
          parent ? [" · ", el("a", { href: `#/compare/${parent}/${c.id}` }, "compare")] : null),
        c.message.includes("\n") ? el("details", {}, el("summary", {}, "full message"), el("pre", { class: "raw" }, c.message)) : null,
        diffView(shown.diff, parent || "", c.id));
      fillHistogram(parent || null, c.id);
    } catch (e) { showProblem(view, e); }
  }
  async function showCompare(a, b) {
    const view = document.getElementById("view");
    const form = el("form", { class: "inline", onsubmit: (e) => {
      e.preventDefault();
      location.hash = `#/compare/${encodeURIComponent(form.a.value)}/${encodeURIComponent(form.b.value || "HEAD")}`;
    } },
      el("label", {}, "from (A)", el("input", { name: "a", value: a || "", placeholder: "HEAD~1, v1, a branch" })),
      el("label", {}, "to (B)", el("input", { name: "b", value: b || "HEAD" })),
      el("button", { type: "submit" }, "compare"));
    view.replaceChildren(el("h2", { class: "subject" }, "Compare two revisions"), form);
    if (!a) return;
    try {
      const diff = await api("diff", { a, b });
      view.appendChild(el("p", { class: "muted" }, `${diff.old.rev || a} (${short(diff.old.commit)}) → ${diff.new.rev || b} (${short(diff.new.commit)})`));
      view.appendChild(diffView(diff, a, b));
      fillHistogram(a, b);
    } catch (e) { const box = el("div"); view.appendChild(box); showProblem(box, e); }
  }

  // --- learning curves ---------------------------------------------------------------------------------
  const CURVES = [["vocabulary_size", "vocabulary (words)"], ["total_word_count", "words seen (encounters)"],
                  ["connection_count", "connections"], ["mean_connection_weight", "mean connection weight"],
                  ["episodic_memory", "episodic memory"], ["working_memory", "working memory"],
                  ["response_memory", "responses remembered"], ["brain_history", "history entries"]];
  function lineChart(title, series) {
    const width = 360, height = 170, pad = 54;
    const all = series.flatMap((s) => s.points.map((p) => p.y));
    const box = svg("svg", { width, height, role: "img", "aria-label": title, class: "curve" });
    if (!all.length) { box.appendChild(svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle" }, "not measured")); return box; }
    const n = Math.max(...series.map((s) => s.points.length));
    let lo = Math.min(...all), hi = Math.max(...all);
    if (lo === hi) { lo -= 1; hi += 1; }
    const X = (i) => pad + (n <= 1 ? 0 : i * (width - 2 * pad) / (n - 1));
    const Y = (v) => height - pad - (v - lo) * (height - 2 * pad) / (hi - lo);
    box.appendChild(svg("line", { x1: pad, y1: height - pad, x2: width - pad, y2: height - pad, stroke: "#444" }));
    box.appendChild(svg("text", { x: pad - 4, y: Y(hi) + 4, "font-size": 10, "text-anchor": "end" }, fmt(hi)));
    box.appendChild(svg("text", { x: pad - 4, y: Y(lo) + 4, "font-size": 10, "text-anchor": "end" }, fmt(lo)));
    series.forEach((s, k) => {
      const pts = s.points.map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`).join(" ");
      box.appendChild(svg("polyline", { points: pts, fill: "none", stroke: colors[k % colors.length], "stroke-width": 2 },
        svg("title", {}, s.name)));
      s.points.forEach((p) => box.appendChild(svg("circle", { cx: X(p.x), cy: Y(p.y), r: 2.5, fill: colors[k % colors.length] },
        svg("title", {}, `${s.name} ${p.label}: ${fmt(p.y)}`))));
    });
    return box;
  }
  async function showCurves() {
    const view = document.getElementById("view");
    view.replaceChildren(el("h2", { class: "subject" }, "Learning curves"), el("p", { class: "muted" }, "Measuring every commit of each branch…"));
    try {
      const branches = Object.keys(state.overview.branches).slice(0, 6);
      const rows = await Promise.all(branches.map((b) => api("stats", { rev: b })));
      const charts = el("div", { class: "charts" });
      for (const [key, title] of CURVES) {
        const series = branches.map((b, k) => ({ name: b, points: rows[k].filter((r) => r[key] !== null && r[key] !== undefined)
          .map((r, i) => ({ x: i, y: r[key], label: short(r.commit) + " " + r.summary })) }));
        if (!series.some((s) => s.points.length)) continue;
        charts.appendChild(el("figure", { class: "chart", "data-curve": key }, el("h3", {}, title), lineChart(title, series),
          el("figcaption", { class: "muted" }, branches.map((b, k) => el("span", { style: `color:${colors[k % colors.length]};margin-right:.75rem` }, "— " + b)))));
      }
      view.replaceChildren(el("h2", { class: "subject" }, "Learning curves"),
        el("p", { class: "muted" }, "One point per commit on each branch's first-parent history, oldest left."), charts);
    } catch (e) { showProblem(view, e); }
  }

  // --- merge preview -------------------------------------------------------------------------------------
  async function showMerge(into, source) {
    const view = document.getElementById("view");
    const branches = Object.keys(state.overview.branches);
    const pick = (name, value) => el("select", { name }, [...branches, ...Object.keys(state.overview.tags)].map((b) => el("option", { value: b, selected: b === value || undefined }, b)));
    const form = el("form", { class: "inline", onsubmit: (e) => {
      e.preventDefault();
      location.hash = `#/merge/${encodeURIComponent(form.into.value)}/${encodeURIComponent(form.from.value)}`;
    } },
      el("label", {}, "into branch", pick("into", into || state.overview.branch)),
      el("label", {}, "merge", pick("from", source || branches.find((b) => b !== (into || state.overview.branch)))),
      el("button", { type: "submit" }, "preview"));
    view.replaceChildren(el("h2", { class: "subject" }, "Merge preview"),
      el("p", { class: "muted" }, "What merging would do: nothing is written (merge --dry-run)."), form);
    if (!into || !source) return;
    try {
      const result = await api("merge-preview", { into, from: source });
      const plan = result.plan;
      const counts = plan ? Object.entries(plan.counts).filter(([, v]) => typeof v === "number").map(([k, v]) => `${v} ${k}`).join(", ") : "";
      view.appendChild(el("p", { class: "summary", "data-merge-status": result.status },
        result.status === "planned" ? (plan.clean ? "merges cleanly: " : `stops on ${plan.conflicts.length} conflict(s): `) + counts
                                    : result.status));
      if (result.status === "fast-forward") {
        view.appendChild(el("p", {}, `${into} would move from ${short(result.ours)} to ${short(result.theirs)}, taking what ${source} learned:`));
        const brings = await api("diff", { a: result.ours, b: result.theirs, limit: 3 });
        view.appendChild(diffView(brings, result.ours, result.theirs));
        fillHistogram(result.ours, result.theirs);
      }
      if (plan && result.bases.length) {
        const base = result.bases[0];
        const [ours, theirs] = await Promise.all([api("diff", { a: base, b: result.ours, limit: 1 }),
                                                  api("diff", { a: base, b: result.theirs, limit: 1 })]);
        view.appendChild(el("h3", {}, "What each side brings (since the merge base " + short(base) + ")"));
        view.appendChild(el("dl", {}, el("dt", {}, into), el("dd", { "data-side": "ours" }, ours.summary || "nothing"),
                                      el("dt", {}, source), el("dd", { "data-side": "theirs" }, theirs.summary || "nothing")));
      }
      if (plan) {
        if (plan.conflicts.length) {
          view.appendChild(el("h3", {}, "Conflicts (the merge stops on these)"));
          view.appendChild(el("ul", { "data-conflicts": "" }, plan.conflicts.map((c) => el("li", {}, el("code", {}, c.path), " — ", c.reason,
            el("div", { class: "muted" }, `base ${JSON.stringify(c.base)} · ${into} ${JSON.stringify(c.ours)} · ${source} ${JSON.stringify(c.theirs)}`)))));
        }
        const differing = plan.outcomes.filter((o) => o.source !== "both");
        const table = el("table", { class: "plain" }, el("tr", {}, el("th", {}, "path"), el("th", {}, "change"), el("th", {}, "from"), el("th", {}, "how")),
          differing.slice(0, 300).map((o) => el("tr", {}, el("td", {}, el("code", {}, o.path)), el("td", {}, o.change),
            el("td", {}, o.source), el("td", {}, o.strategy || ""))));
        view.appendChild(el("h3", {}, "Path by path: what is taken from one side, what combines"));
        view.appendChild(el("p", { class: "muted" }, `${differing.length} paths` + (differing.length > 300 ? " (first 300 shown)" : "") +
          `; ${plan.outcomes.length - differing.length} more changed identically on both sides.`));
        view.appendChild(table);
      }
    } catch (e) { const box = el("div"); view.appendChild(box); showProblem(box, e); }
  }

  // --- routing ---------------------------------------------------------------------------------------
  async function route() {
    const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
    document.querySelectorAll(".top nav a").forEach((a) => a.removeAttribute("aria-current"));
    const current = document.querySelector(`.top nav a[href="#/${parts[0] === "commit" ? "" : parts[0]}"]`);
    if (current) current.setAttribute("aria-current", "page");
    if (parts[0] === "compare") await showCompare(parts[1], parts[2]);
    else if (parts[0] === "curves") await showCurves();
    else if (parts[0] === "merge") await showMerge(parts[1], parts[2]);
    else await showCommit(parts[0] === "commit" && parts[1] ? parts[1] : (new URLSearchParams(location.search).get("rev") || "HEAD"));
  }
  async function start() {
    try {
      state.overview = await api("overview");
      state.commits = await api("log");
      state.commits.forEach((c) => state.byId.set(c.id, c));
      document.getElementById("where").textContent =
        state.overview.branch ? `on ${state.overview.branch}` : (state.overview.head ? "detached HEAD" : "empty repository");
      renderGraph();
      if (!state.commits.length) {
        document.getElementById("view").replaceChildren(el("p", {}, "No commits yet: commit a brain, then reload."));
      } else {
        await route();
      }
    } catch (e) { showProblem(document.getElementById("view"), e); }
    document.body.dataset.ready = "1";
  }
  window.addEventListener("hashchange", () => { document.body.dataset.ready = "0"; route().then(() => { document.body.dataset.ready = "1"; }); });
  document.addEventListener("keydown", (e) => {
    if (e.target.closest && e.target.closest("input, select, textarea")) return;
    if (e.key !== "j" && e.key !== "k") return;
    const ids = state.commits.map((c) => c.id);
    const at = ids.indexOf(state.selected);
    const next = ids[Math.max(0, Math.min(ids.length - 1, at + (e.key === "j" ? 1 : -1)))];
    if (next) location.hash = "#/commit/" + next;
  });
  start();
})();

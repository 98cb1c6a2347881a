// The executive dashboard: a small static front end over the gateway's REST API. No framework; the
// charts are SVG drawn here. Views: the portfolio overview (#/) and one project (#/projects/{id}).
"use strict";

const state = { token: sessionStorage.getItem("regeneration.token") || "", user: null };
const app = document.getElementById("app");
const LEVEL_NAMES = ["Not evidenced", "I · Poor", "II · In progress", "III · Mature", "IV · Advanced", "V · Excellent"];
const SOURCE_COLOURS = { NATIONAL: "#2f5fb3", PROVINCIAL: "#4f9fc7", MUNICIPAL: "#2e9e5b", PRIVATE: "#e0a100" };

const esc = s => String(s ?? "").replace(/[&<>"']/g, c => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
const pct = v => `${(100 * v).toFixed(0)}%`;
const won = v => `₩${Number(v).toLocaleString("en-US")}`;
const bn = v => `₩${(Number(v) / 1e9).toFixed(1)} bn`;
const index = v => v == null ? "–" : v.toFixed(2);
const days = (a, b) => Math.round((Date.parse(a) - Date.parse(b)) / 86400000);
// A random id for each change (its Idempotency-Key). crypto.randomUUID exists only in secure contexts (HTTPS or
// localhost): the dashboard served over plain HTTP on a city's network draws the same 122 random bits itself.
const requestId = () => {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;   // version 4
  b[8] = (b[8] & 0x3f) | 0x80;   // the RFC 9562 variant
  const hex = Array.from(b, x => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};

function claims(token) {
  try { return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch { return null; }
}

async function api(path, options = {}) {
  const response = await fetch(`/api/v1${path}`, {
    ...options,
    headers: { "Authorization": `Bearer ${state.token}`, "Content-Type": "application/json", ...(options.headers || {}) },
  });
  if (!response.ok) {
    let problem = {};
    try { problem = await response.json(); } catch { }
    const fields = problem.errors ? " — " + Object.entries(problem.errors).map(([k, v]) => `${k}: ${v.join(", ")}`).join("; ") : "";
    throw new Error(`${response.status} ${problem.title || response.statusText}: ${problem.detail || ""}${fields}`);
  }
  return { body: await response.json(), etag: response.headers.get("ETag") };
}

// ---- Sign-in: demo users in Development, or a pasted token ----
async function renderLogin() {
  const box = document.getElementById("login");
  const c = state.token ? claims(state.token) : null;
  state.user = c ? { name: c.sub, roles: [].concat(c.role || []) } : null;
  let options = "";
  try {
    const demo = await (await fetch("/dev/tokens")).json();
    options = demo.users.map(u => `<option value="${esc(u.token)}" ${u.user === state.user?.name ? "selected" : ""}>${esc(u.user)} (${esc(u.role)})</option>`).join("");
  } catch { /* not in Development */ }
  box.innerHTML = `
    ${state.user ? `<span data-testid="signed-in">Signed in as <b>${esc(state.user.name)}</b> (${esc(state.user.roles.join(", "))})</span>` : ""}
    ${options ? `<select id="demo-user" aria-label="Demo user"><option value="">Demo user…</option>${options}</select>` : ""}
    <input id="token" type="password" placeholder="or paste a token" aria-label="Token">
    <button id="sign-in" class="secondary">Sign in</button>`;
  const signIn = token => {
    if (!token) return;
    state.token = token;
    sessionStorage.setItem("regeneration.token", token);
    renderLogin().then(route);
  };
  document.getElementById("demo-user")?.addEventListener("change", e => signIn(e.target.value));
  document.getElementById("sign-in").addEventListener("click", () => signIn(document.getElementById("token").value.trim()));
}

// ---- Charts ----
function radar(dimensions) {
  const size = 420, c = size / 2, r = 150, n = dimensions.length;
  const point = (i, v) => {
    const a = -Math.PI / 2 + 2 * Math.PI * i / n;
    return [c + r * v * Math.cos(a), c + r * v * Math.sin(a)];
  };
  const ring = v => dimensions.map((_, i) => point(i, v).join(",")).join(" ");
  const rings = [0.2, 0.4, 0.6, 0.8, 1].map(v =>
    `<polygon points="${ring(v)}" fill="none" stroke="#dfe4ea"/><text x="${c + 3}" y="${c - r * v + 11}" font-size="10" fill="#9aa5b1">${v * 100}</text>`).join("");
  const axes = dimensions.map((d, i) => {
    const [x, y] = point(i, 1), [lx, ly] = point(i, 1.2);
    const anchor = Math.abs(lx - c) < 10 ? "middle" : lx < c ? "end" : "start";
    return `<line x1="${c}" y1="${c}" x2="${x}" y2="${y}" stroke="#dfe4ea"/>
      <text x="${lx}" y="${ly}" font-size="11" text-anchor="${anchor}" fill="#1d2733">${esc(d.dimension.name)} (${d.evidenced ? "L" + d.level : "–"})</text>`;
  }).join("");
  const shape = dimensions.map((d, i) => point(i, d.evidenced ? d.score / 100 : 0).join(",")).join(" ");
  const dots = dimensions.map((d, i) => { const [x, y] = point(i, d.evidenced ? d.score / 100 : 0); return `<circle cx="${x}" cy="${y}" r="3.5" fill="#2f5fb3"><title>${esc(d.dimension.name)}: ${d.score.toFixed(1)}%</title></circle>`; }).join("");
  return `<svg viewBox="-150 -10 ${size + 300} ${size + 20}" role="img" aria-label="Maturity per dimension" data-testid="radar">
    ${rings}${axes}<polygon points="${shape}" fill="rgba(47,95,179,.25)" stroke="#2f5fb3" stroke-width="2"/>${dots}</svg>`;
}

function bar(value, max, colour = "var(--accent)", title = "") {
  const width = max > 0 ? Math.max(0, Math.min(100, 100 * value / max)) : 0;
  return `<div class="bar" title="${esc(title)}"><span style="width:${width}%;background:${colour}"></span></div>`;
}

function burnChart(sources) {
  const max = Math.max(1, ...sources.map(s => s.amounts.allocated));
  const rows = sources.map((s, i) => {
    const y = 10 + i * 46, w = v => 560 * v / max;
    return `<text x="0" y="${y + 12}" font-size="12">${esc(s.source)}</text>
      <rect x="110" y="${y}" width="${w(s.amounts.allocated)}" height="14" fill="#dfe7f3"><title>Allocated ${won(s.amounts.allocated)}</title></rect>
      <rect x="110" y="${y}" width="${w(s.amounts.committed)}" height="14" fill="${SOURCE_COLOURS[s.source] || "#888"}" opacity=".45"><title>Committed ${won(s.amounts.committed)}</title></rect>
      <rect x="110" y="${y}" width="${w(s.amounts.spent)}" height="14" fill="${SOURCE_COLOURS[s.source] || "#888"}"><title>Spent ${won(s.amounts.spent)}</title></rect>
      <text x="110" y="${y + 30}" font-size="11" fill="#6b7785">spent ${bn(s.amounts.spent)} · committed ${bn(s.amounts.committed)} · allocated ${bn(s.amounts.allocated)}</text>`;
  }).join("");
  return `<svg viewBox="0 0 700 ${20 + sources.length * 46}" role="img" aria-label="Budget burn by funding source" data-testid="burn">${rows}</svg>
    <div class="legend muted"><span><i class="swatch" style="background:#2f5fb3"></i>spent</span><span><i class="swatch" style="background:#2f5fb3;opacity:.45"></i>committed</span><span><i class="swatch" style="background:#dfe7f3"></i>allocated</span></div>`;
}

function slippageChart(projects) {
  const today = new Date().toISOString().slice(0, 10);
  const late = projects.filter(p => !["CANCELLED", "COMPLETED"].includes(p.status)).flatMap(p => p.milestones.filter(m => m.status !== "COMPLETED").map(m => ({
    p, m, late: Math.max(days(m.forecastDate, m.baselineDueDate), m.baselineDueDate < today ? days(today, m.baselineDueDate) : 0),
  }))).filter(x => x.late > 0).sort((a, b) => b.late - a.late).slice(0, 12);
  if (late.length === 0) return `<p class="muted">No open milestone is late against its baseline.</p>`;
  const max = Math.max(...late.map(x => x.late));
  const rows = late.map((x, i) => {
    const y = 8 + i * 26, w = 380 * x.late / max;
    return `<a href="#/projects/${esc(x.p.id)}"><text x="0" y="${y + 11}" font-size="11">${esc(x.p.code)} · ${esc(x.m.name.slice(0, 34))}</text></a>
      <rect x="300" y="${y}" width="${w}" height="13" fill="${x.late > 180 ? "#d2453b" : x.late > 60 ? "#e0a100" : "#9aa5b1"}"><title>${x.late} days late</title></rect>
      <text x="${304 + w}" y="${y + 11}" font-size="11" fill="#6b7785">${x.late} d</text>`;
  }).join("");
  return `<svg viewBox="0 0 760 ${16 + late.length * 26}" role="img" aria-label="Milestone slippage" data-testid="slippage">${rows}</svg>`;
}

// ---- Views ----
async function overview() {
  const [{ body: maturity }, { body: rollup }, { body: page }] = await Promise.all([
    api("/maturity"), api("/kpis"), api("/projects?pageSize=500")]);
  document.getElementById("freshness").textContent = freshnessText(maturity.freshness);
  const dims = maturity.dimensions;
  app.innerHTML = `
    <section class="card">
      <h2>City maturity (ISO 37106)</h2>
      <div class="level"><span class="big" data-testid="overall-level">${maturity.overallLevel}</span>
        <div><b>${esc(LEVEL_NAMES[maturity.overallLevel] || "")}</b><div class="muted">${esc(maturity.overallRule)}</div></div></div>
      <p>${esc(maturity.explanation)}</p>
      ${radar(dims)}
    </section>
    <section class="card">
      <h2>Dimensions and the gaps to the next level</h2>
      ${dims.map(d => `
        <details data-testid="dimension">
          <summary><span class="chip l${d.level}">${d.evidenced ? "L" + d.level : "–"}</span> <b>${esc(d.dimension.name)}</b>
            <span class="muted">${d.evidenced ? d.score.toFixed(1) + "%" : "not evidenced"}</span>${bar(d.score, 100, "#2f5fb3", d.score.toFixed(1) + "%")}</summary>
          <p class="muted">${esc(d.explanation)}</p>
          <h3>Contributing projects${d.contributionCount > d.contributions.length ? ` — the ${d.contributions.length} largest of ${d.contributionCount}` : ""}</h3>
          <table><tr><th>Project</th><th class="num">Weight</th><th class="num">Delivery</th><th class="num">Outcome</th><th class="num">Contribution</th></tr>
          ${d.contributions.map(c => `<tr><td><a href="#/projects/${esc(c.projectId)}">${esc(c.code)}</a> ${esc(c.name)}</td><td class="num">${c.declaredWeight}</td>
            <td class="num" title="${esc(c.deliveryBasis)}">${pct(c.delivery)}</td><td class="num">${pct(c.outcome)}${c.outcomeDefined ? "" : "*"}</td><td class="num">${c.contribution.toFixed(3)}</td></tr>`).join("")}
          </table>
          ${d.gaps.length ? `<h3>To reach level ${d.level + 1} (${d.nextLevelThreshold}%)${d.gapsInsufficient ? " — not enough on its own" : ""}</h3><ol>
            ${d.gaps.map(g => `<li>${g.kind === "COMPLETE_MILESTONE"
              ? `Complete <a href="#/projects/${esc(g.projectId)}">${esc(g.projectCode)}</a> “${esc(g.milestoneName)}” (now ${g.progress}%)`
              : `Reach the ${esc(g.indicatorCode)} target of ${g.target} on <a href="#/projects/${esc(g.projectId)}">${esc(g.projectCode)}</a> (attainment ${pct(g.attainment)})`}
              <span class="muted">→ ${g.scoreAfter.toFixed(1)}%</span></li>`).join("")}</ol>` : ""}
        </details>`).join("")}
      <p class="muted">* no indicator defined yet: outcome counted as 100 %.</p>
    </section>
    <section class="card">
      <h2>Budget burn by funding source</h2>
      ${rollup.budget ? burnChart(rollup.budget.bySource) : `<p class="error">Budget data is missing: ${esc(rollup.missing.map(m => m.reason).join("; "))}</p>`}
    </section>
    <section class="card">
      <h2>Milestone slippage</h2>
      <p class="muted">Open milestones of open projects whose forecast, or today, is past the baseline due date.</p>
      ${slippageChart(page.projects)}
    </section>
    <section class="card wide">
      <h2>KPI rollup</h2>
      ${rollup.portfolio ? `<p>Portfolio: <span class="chip ${rollup.portfolio.earnedValue.rag}">${rollup.portfolio.earnedValue.rag}</span>
        SPI ${index(rollup.portfolio.earnedValue.spi)} · CPI ${index(rollup.portfolio.earnedValue.cpi)} · EV ${bn(rollup.portfolio.earnedValue.ev)} of BAC ${bn(rollup.portfolio.earnedValue.bac)}</p>` : ""}
      <div class="scroll"><table data-testid="rollup">
        <tr><th>Project</th><th class="hide-narrow">Category</th><th>RAG</th><th class="num">SPI</th><th class="num">CPI</th><th>Progress vs plan</th><th class="num hide-narrow">EAC</th></tr>
        ${rollup.projects.map(p => `<tr><td><a data-testid="project-link" href="#/projects/${esc(p.projectId)}">${esc(p.code)}</a> ${esc(p.name)}</td>
          <td class="hide-narrow">${esc(p.category)}</td><td><span class="chip ${p.earnedValue.rag}">${p.earnedValue.rag.replace("_", " ")}</span></td>
          <td class="num">${index(p.earnedValue.spi)}</td><td class="num">${index(p.earnedValue.cpi)}</td>
          <td>${bar(p.earnedValue.progress, 1, "#2f5fb3", "progress " + pct(p.earnedValue.progress))}${bar(p.earnedValue.planned, 1, "#b0b8c2", "planned " + pct(p.earnedValue.planned))}</td>
          <td class="num hide-narrow">${p.earnedValue.eac == null ? "–" : bn(p.earnedValue.eac)}</td></tr>`).join("")}
      </table></div>
      ${rollup.missing.length ? `<p class="error">Missing: ${esc(rollup.missing.map(m => `${m.part} (${m.reason})`).join("; "))}</p>` : ""}
    </section>`;
}

function canEdit(project) {
  const roles = state.user?.roles || [];
  return roles.includes("admin") || (roles.includes("project-manager") && project.owner === state.user.name);
}

async function projectView(id, message) {
  const [{ body: project, etag }, budget, kpis, { body: history }] = await Promise.all([
    api(`/projects/${id}`), api(`/projects/${id}/budget`).catch(() => null), api(`/projects/${id}/kpis`).catch(() => null),
    api(`/projects/${id}/history`)]);
  const editable = canEdit(project) && !["COMPLETED", "CANCELLED"].includes(project.status);
  const ev = kpis?.body.earnedValue;
  app.innerHTML = `
    <section class="card wide">
      <a href="#/">← Portfolio</a>
      <h2 data-testid="project-title">${esc(project.code)} · ${esc(project.name)}</h2>
      <p>${esc(project.description)}</p>
      <p class="muted">${esc(project.category)} · ${esc(project.district)} · owner ${esc(project.owner)} · ${esc(project.status)} · ${esc(project.plannedStart)} → ${esc(project.plannedEnd)} · version ${project.version}</p>
      ${ev ? `<p><span class="chip ${ev.rag}">${ev.rag}</span> SPI ${index(ev.spi)} · CPI ${index(ev.cpi)} · progress ${pct(ev.progress)} vs planned ${pct(ev.planned)} · EV ${won(ev.ev)} · AC ${won(ev.ac)} · BAC ${won(ev.bac)}</p>` : ""}
      ${message ? `<p class="ok" data-testid="message">${esc(message)}</p>` : ""}
      <div id="edit-error"></div>
    </section>
    <section class="card wide">
      <h2>Milestones</h2>
      <div class="scroll"><table data-testid="milestones">
        <tr><th>Milestone</th><th class="num">Weight</th><th>Baseline</th><th>Forecast</th><th>Progress</th><th>Status</th>${editable ? "<th>Update</th>" : ""}</tr>
        ${project.milestones.map(m => `<tr data-milestone="${esc(m.id)}"><td>${esc(m.name)}${m.rebaselineCount ? ` <span class="muted">(re-baselined ×${m.rebaselineCount})</span>` : ""}</td>
          <td class="num">${m.weight}</td><td>${esc(m.baselineDueDate)}</td><td>${esc(m.forecastDate)}</td>
          <td>${bar(m.progress, 100, m.status === "COMPLETED" ? "var(--green)" : "#2f5fb3", m.progress + "%")}<span class="muted">${m.progress}%</span></td>
          <td>${esc(m.status)}${m.completedOn ? ` ${esc(m.completedOn)}` : ""}</td>
          ${editable ? `<td>${m.status === "COMPLETED" ? "" : `<div class="edit">
            <input type="number" min="0" max="100" value="${m.progress}" aria-label="Progress" data-field="progress">
            <button data-action="progress">Report</button><button data-action="complete">Complete</button>
            <input type="date" aria-label="New due date" data-field="due"><input type="text" placeholder="reason" aria-label="Reason" data-field="reason">
            <button class="secondary" data-action="rebaseline">Re-baseline</button></div>`}</td>` : ""}
        </tr>`).join("")}
      </table></div>
    </section>
    <section class="card">
      <h2>Budget</h2>
      ${budget ? `${burnChart(budget.body.bySource)}
        <table><tr><th>Contract</th><th>Source</th><th class="num">Committed</th><th class="num">Spent</th></tr>
        ${budget.body.contracts.map(c => `<tr><td>${esc(c.contractRef)}</td><td>${esc(c.source)}</td><td class="num">${won(c.committed)}</td><td class="num">${won(c.spent)}</td></tr>`).join("")}</table>`
        : `<p class="muted">No budget yet.</p>`}
    </section>
    <section class="card">
      <h2>Indicators</h2>
      ${kpis && kpis.body.indicators.length ? `<table><tr><th>Indicator</th><th class="num">Baseline</th><th class="num">Target</th><th class="num">Latest</th><th>Attainment</th></tr>
        ${kpis.body.indicators.map(i => `<tr><td>${esc(i.code)} <span class="muted">${esc(i.name)} (${esc(i.unit)})</span></td><td class="num">${i.baseline}</td><td class="num">${i.target}</td>
          <td class="num" title="${esc(i.latest?.source || "")}">${i.latest ? i.latest.value : "–"}</td><td>${bar(i.attainment, 1, "var(--green)", pct(i.attainment))}${pct(i.attainment)}</td></tr>`).join("")}</table>`
        : `<p class="muted">No indicator targets yet.</p>`}
    </section>
    <section class="card wide">
      <h2>History</h2>
      <div class="scroll"><table data-testid="history"><tr><th class="num">#</th><th>When</th><th>Event</th><th>By</th><th class="hide-narrow">Correlation</th></tr>
        ${history.slice().reverse().map(e => `<tr><td class="num">${e.version}</td><td>${esc(new Date(e.recordedAt).toLocaleString())}</td><td>${esc(e.type)}
          <span class="muted">${esc(JSON.stringify(e.data).slice(0, 140))}</span></td><td>${esc(e.actor)}</td><td class="hide-narrow muted">${esc(e.correlationId.slice(0, 12))}</td></tr>`).join("")}
      </table></div>
    </section>`;
  if (editable) wireEditing(project, etag);
}

function wireEditing(project, etag) {
  app.querySelectorAll("tr[data-milestone] button").forEach(button => button.addEventListener("click", async () => {
    const row = button.closest("tr"), milestoneId = row.dataset.milestone, action = button.dataset.action;
    const field = name => row.querySelector(`[data-field="${name}"]`).value;
    const body = action === "progress" ? { progress: Number(field("progress")) }
      : action === "complete" ? {} : { newDueDate: field("due"), reason: field("reason") };
    try {
      await api(`/projects/${project.id}/milestones/${milestoneId}/${action}`, {
        method: "POST", body: JSON.stringify(body),
        headers: { "If-Match": etag, "Idempotency-Key": `ui-${requestId()}` },
      });
      await projectView(project.id, `Saved: ${action} of “${row.cells[0].textContent.trim()}”.`);
    } catch (e) {
      document.getElementById("edit-error").innerHTML = `<p class="error" data-testid="edit-error">${esc(e.message)}</p>`;
    }
  }));
}

function freshnessText(f) {
  if (!f) return "";
  const synced = f.feeds.map(x => x.lastSyncedAt ? new Date(x.lastSyncedAt) : null).filter(Boolean);
  const oldest = synced.length ? new Date(Math.min(...synced)) : null;
  return f.stale ? "⚠ inputs are stale" : oldest ? `inputs as of ${oldest.toLocaleTimeString()}` : "";
}

async function route() {
  if (!state.token) {
    app.innerHTML = `<section class="card wide"><h2>Sign in</h2><p>Choose a demo user or paste a token (top right).</p></section>`;
    return;
  }
  try {
    const match = location.hash.match(/^#\/projects\/([0-9a-f-]+)/);
    if (match) await projectView(match[1]); else await overview();
  } catch (e) {
    app.innerHTML = `<p class="error" data-testid="error">${esc(e.message)}</p>`;
  }
}

window.addEventListener("hashchange", route);
renderLogin().then(route);

// The inspection page of `migrec serve`: pick a user, see their history per domain, the target
// recommendations with each component's share of the score (a stacked SVG bar) and a one-line
// reason, and the model card. Plain DOM; ids from the data only ever go through textContent.

const COLORS = ['#2f6fde', '#e07b39', '#3aa76d', '#b04fc2', '#d4b21f', '#5fb7c9', '#c94f5f', '#7a8799'];
const $ = (id) => document.getElementById(id);
let componentColors = new Map();
let card = null;

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'style') e.style.cssText = v;
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) e.append(c instanceof Node ? c : String(c));
  return e;
}

/** GET a JSON route; an error answer becomes an Error with the service's message. */
async function api(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await res.json();
  if (!res.ok) throw new Error(body?.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
  return body;
}

const fmt = (x, digits = 4) => (Number.isFinite(x) ? Number(x).toPrecision(digits) : '-');
const colorOf = (name) => {
  if (!componentColors.has(name)) componentColors.set(name, COLORS[componentColors.size % COLORS.length]);
  return componentColors.get(name);
};

// ---- model card ---------------------------------------------------------------------------------

async function loadCard() {
  card = await api('/v1/model');
  const s = card.summary;
  $('model-line').textContent = `${s.model} model · ${s.users.toLocaleString()} users · ${s.domains.map((d) => d.name).join(', ')} · id ${card.id}`;
  const body = $('card-body');
  body.className = '';
  body.replaceChildren();
  const total = card.seconds?.total;
  const items = [
    ['model', s.model],
    ['file', `${card.path} (${(card.bytes / 2 ** 20).toFixed(1)} MiB, id ${card.id})`],
    ['users', `${s.users.toLocaleString()} (${s.trainingUsers.toLocaleString()} in training)`],
    ['target domain', s.defaultDomain ?? '-'],
    ['fitted', card.fittedAt ? `${new Date(card.fittedAt).toISOString().replace('T', ' ').slice(0, 19)} UTC` : 'unknown (file saved without a fit record)'],
    ['fit seconds', total !== undefined ? `${total.toFixed(1)} s` : 'unknown'],
    ['loaded', card.loadedAt.replace('T', ' ').slice(0, 19) + ' UTC'],
    ['scoring threads', String(card.poolThreads)],
  ];
  body.append(el('dl', { class: 'card' }, items.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)])));
  body.append(
    el('table', { id: 'card-domains' },
      el('thead', {}, el('tr', {}, el('th', {}, 'domain'), el('th', { class: 'num' }, 'items'), el('th', { class: 'num' }, 'rows'))),
      el('tbody', {}, s.domains.map((d) => el('tr', {}, el('td', {}, d.name), el('td', { class: 'num' }, d.items.toLocaleString()), el('td', { class: 'num' }, d.rows.toLocaleString())))),
    ),
  );
  const seconds = Object.entries(card.seconds ?? {}).filter(([k]) => k !== 'total');
  if (seconds.length > 0) body.append(el('h3', {}, 'Fit seconds by stage'), el('p', {}, seconds.map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(' · ')));
  for (const [domain, f] of Object.entries(card.choices ?? {})) {
    if (!f || !Array.isArray(f.components) || typeof f.weights !== 'object') continue;
    body.append(el('h3', {}, `Fusion weights per bucket, target ${domain}`));
    body.append(
      el('table', { class: 'weights' },
        el('thead', {}, el('tr', {}, el('th', {}, 'bucket'), f.components.map((c) => el('th', { class: 'num' }, c)), el('th', { class: 'num' }, 'validation users'), el('th', { class: 'num' }, 'NDCG'))),
        el('tbody', {}, Object.entries(f.weights).map(([b, w]) => {
          const v = f.validation?.[b];
          return el('tr', {}, el('td', {}, b), w.map((x) => el('td', { class: 'num' }, fmt(x, 3))), el('td', { class: 'num' }, v ? String(v.users) : '-'), el('td', { class: 'num' }, v ? fmt(v.ndcg) : '-'));
        })),
      ),
    );
  }
}

// ---- users --------------------------------------------------------------------------------------

async function suggest(prefix) {
  const { users } = await api(`/v1/users?prefix=${encodeURIComponent(prefix)}&limit=20`);
  $('user-options').replaceChildren(...users.map((u) => el('option', { value: u })));
  return users;
}

async function loadSamples() {
  const users = await suggest('');
  $('samples').replaceChildren(...users.slice(0, 12).map((u) => {
    const b = el('button', { type: 'button', 'data-user': u }, u);
    b.addEventListener('click', () => show(u));
    return b;
  }));
}

/** A one-line reason from an explanation's largest contributions. */
function reason(e, target) {
  const items = e.contributions.filter((c) => c.kind === 'item' && c.weight > 0);
  const fromSource = items.filter((c) => c.domain && c.domain !== target);
  const users = e.contributions.filter((c) => c.kind === 'user' && c.weight > 0);
  const models = e.contributions.filter((c) => c.kind === 'model' && c.weight > 0);
  const parts = [];
  const names = (list) => [...new Set(list.slice(0, 2).map((c) => c.id))].join(' and ');
  if (fromSource.length > 0) parts.push(`you had ${names(fromSource)} in ${fromSource[0].domain}`);
  else if (items.length > 0) parts.push(`you had ${names(items)}`);
  if (users.length > 0) parts.push(`${users.length} similar user${users.length > 1 ? 's' : ''} had it`);
  if (models.length > 0) parts.push(`${[...new Set(models.map((c) => c.model))].join(' and ')} predict${models.length > 1 ? '' : 's'} it from your history`);
  if (e.contributions.some((c) => c.kind === 'popularity' && c.weight > 0)) parts.push(`it is popular in ${target}`);
  return parts.length > 0 ? `because ${parts.join('; ')}` : 'no contribution found';
}

/** Shares of the score per component model (or per kind for single models). */
function shares(e) {
  const by = new Map();
  for (const c of e.contributions) {
    const key = c.model ?? c.kind;
    by.set(key, (by.get(key) ?? 0) + c.weight);
  }
  return [...by].filter(([, w]) => w > 0);
}

/** A stacked horizontal bar of the shares, scaled to the list's top score. */
function bar(parts, top) {
  const ns = 'http://www.w3.org/2000/svg';
  const W = 160;
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('width', String(W));
  svg.setAttribute('height', '14');
  svg.setAttribute('class', 'bar');
  let x = 0;
  for (const [name, w] of parts) {
    const width = top > 0 ? (w / top) * W : 0;
    const r = document.createElementNS(ns, 'rect');
    r.setAttribute('x', x.toFixed(1));
    r.setAttribute('width', Math.max(width, 0.5).toFixed(1));
    r.setAttribute('height', '14');
    r.setAttribute('fill', colorOf(name));
    const t = document.createElementNS(ns, 'title');
    t.textContent = `${name}: ${fmt(w)}`;
    r.append(t);
    svg.append(r);
    x += width;
  }
  return svg;
}

function renderHistory(view) {
  const box = $('history');
  box.replaceChildren();
  if (view.domains.length === 0) box.append(el('p', { class: 'muted' }, 'no rows'));
  for (const d of view.domains) {
    const shown = d.items.slice(0, 25);
    box.append(el('div', { class: 'domain-history', 'data-domain': d.domain },
      el('h3', {}, `${d.domain}: ${d.items.length} item${d.items.length === 1 ? '' : 's'}`),
      el('table', {}, el('tbody', {}, shown.map((it, i) => el('tr', {}, el('td', {}, it), el('td', { class: 'num' }, fmt(d.weights[i], 3)))))),
      d.items.length > shown.length ? el('p', { class: 'muted' }, `… ${d.items.length - shown.length} more`) : null,
    ));
  }
  const b = view.bucket;
  $('bucket').replaceChildren(...(b
    ? ['Bucket in ', el('b', {}, b.domain), ': ', el('b', { id: 'bucket-name' }, b.name), ` (${b.targetRows} target rows, ${b.sourceRows} source rows). Weights: `,
       Object.entries(b.weights).map(([c, w]) => `${c} ${fmt(w, 3)}`).join(', ')]
    : []));
}

async function show(user) {
  const k = Math.max(1, Math.min(100, Number($('k-input').value) || 10));
  $('user-input').value = user;
  $('status').textContent = `loading ${user}…`;
  $('status').className = 'muted';
  const url = new URL(location.href);
  url.searchParams.set('user', user);
  history.replaceState(null, '', url);
  try {
    // Both at once; on failure the first in this order is shown, so the message does not depend on timing.
    const settled = await Promise.allSettled([api(`/v1/users/${encodeURIComponent(user)}`), api(`/v1/recommend?user=${encodeURIComponent(user)}&k=${k}`)]);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
    const [view, rec] = settled.map((r) => r.value);
    const target = card?.summary.defaultDomain ?? '';
    const explanations = await Promise.all(rec.items.map((item) => api(`/v1/explain?user=${encodeURIComponent(user)}&item=${encodeURIComponent(item)}&k=${k}`).catch((e) => ({ error: e.message }))));
    $('user-id').textContent = user;
    $('rec-domain').textContent = target;
    renderHistory(view);
    const top = Math.max(...rec.scores, 0);
    componentColors = new Map();
    $('recs').tBodies[0].replaceChildren(...rec.items.map((item, i) => {
      const e = explanations[i];
      const parts = e.error ? [] : shares(e);
      return el('tr', { 'data-item': item, 'data-score': String(rec.scores[i]) },
        el('td', { class: 'num' }, String(i + 1)),
        el('td', { class: 'item' }, item),
        el('td', { class: 'num score' }, fmt(rec.scores[i], 6)),
        el('td', {}, bar(parts, top)),
        el('td', { class: 'why' }, e.error ? e.error : reason(e, target)),
      );
    }));
    $('legend').replaceChildren(...[...componentColors].map(([name, c]) => el('span', { style: `--c: ${c}` }, name)));
    $('user-view').hidden = false;
    $('status').textContent = `${rec.items.length} recommendations for ${user}`;
    document.body.dataset.shown = user;
  } catch (e) {
    $('user-view').hidden = true;
    $('status').textContent = e.message;
    $('status').className = 'error';
    document.body.dataset.shown = '';
  }
}

$('user-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const u = $('user-input').value.trim();
  if (u) show(u);
});
let typing;
$('user-input').addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(() => suggest($('user-input').value).catch(() => {}), 150);
});

(async () => {
  try {
    await loadCard();
  } catch (e) {
    $('card-body').textContent = e.message;
    $('card-body').className = 'error';
  }
  await loadSamples().catch(() => {});
  const u = new URL(location.href).searchParams.get('user');
  if (u) await show(u);
  document.body.dataset.ready = 'true';
})();

// app.js: swath's map viewer. Talks to the swath serve it is loaded from
// (same origin): the OGC API - Processes job list and execution, each job's
// results (TileJSON tiles, the OGC API - Features detections, the heatmap)
// as found in the job's links, and the STAC API search when the server has
// a catalog. MapLibre GL JS (maplibre-gl.js, a global) draws; nothing loads
// from anywhere else. window.swathViewer exposes the map and state to tests.

const maplibregl = window.maplibregl;
const $ = (id) => document.getElementById(id);
const ACTIVE = new Set(['accepted', 'running']);
const POLL_MS = 2000;
const MAX_FEATURES = 50000; // detections drawn per job (the rest is said)

const state = { jobs: [], selected: null, shown: new Map(), loading: new Set() };
const catalog = { box: null, drawing: false, start: null }; // the search box being drawn

// ---- server access ---------------------------------------------------------

function authHeaders(extra = {}) {
  const key = $('apikey').value.trim();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

// The server's root: the folder above /viewer/, so a reverse proxy's
// prefix (swath serve --base-url https://host/swath) carries over.
const ROOT = new URL('..', location.href).pathname.replace(/\/$/, '');

// fetch a JSON document (a path from the server's root, or a link's
// href); a problem detail (RFC 7807) or an OGC error becomes
// an Error carrying its detail and status.
async function api(path, opts = {}) {
  const url = path.startsWith('/') ? ROOT + path : path;
  const r = await fetch(url, { ...opts, headers: authHeaders(opts.headers) });
  const text = await r.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { body = null; }
  if (!r.ok) {
    const why = body && (body.detail || body.description || body.title);
    const e = new Error(`${r.status}: ${why || text.slice(0, 200) || r.statusText}`);
    e.status = r.status;
    throw e;
  }
  return { body, response: r };
}

function say(msg, isError = false) {
  const s = $('status');
  s.textContent = msg;
  s.className = isError ? 'error' : '';
}

const link = (doc, rel) => (doc.links || []).find((l) => l.rel === rel);

// ---- the map ---------------------------------------------------------------

const map = new maplibregl.Map({
  container: 'map',
  style: {
    version: 8,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef0ee' } }],
  },
  center: [0, 20],
  zoom: 1,
  attributionControl: false,
  // tiles and features of keyed servers need the key too (same origin only)
  transformRequest: (url) =>
    (url.startsWith(location.origin) ? { url, headers: authHeaders() } : { url }),
});
map.addControl(new maplibregl.NavigationControl({ showCompass: false }));
map.addControl(new maplibregl.ScaleControl());
// A tile missing from a sparse pyramid is normal; other map errors are said.
map.on('error', (e) => {
  const msg = (e.error && e.error.message) || String(e.error || e);
  if (!/\b404\b|Not Found/.test(msg)) say(`map: ${msg}`, true);
});
const mapReady = new Promise((resolve) => map.on('load', resolve));

function rasterSource(tj) {
  const src = { type: 'raster', tiles: tj.tiles, tileSize: 256, scheme: 'xyz' };
  if (tj.minzoom !== undefined) src.minzoom = tj.minzoom;
  if (tj.maxzoom !== undefined) src.maxzoom = tj.maxzoom;
  if (tj.bounds) src.bounds = tj.bounds;
  return src;
}

// ---- jobs ------------------------------------------------------------------

async function loadProcesses() {
  const { body } = await api('/processes');
  const sel = $('process');
  sel.replaceChildren(...body.processes.map((p) => new Option(p.id, p.id)));
  if (body.processes.some((p) => p.id === 'hillshade')) sel.value = 'hillshade';
}

function jobItem(j) {
  const li = document.createElement('li');
  li.dataset.job = j.jobID;
  li.className = state.selected === j.jobID ? 'selected' : '';
  const line = document.createElement('div');
  line.className = 'line';
  const name = document.createElement('span');
  name.textContent = `#${j.jobID} ${j.processID || ''}`;
  const st = document.createElement('span');
  st.className = `status st-${j.status}`;
  st.textContent = `${j.status} ${j.progress ?? 0}%`;
  line.append(name, st);
  if (ACTIVE.has(j.status)) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'cancel';
    b.textContent = 'cancel';
    b.title = 'DELETE /jobs/' + j.jobID;
    b.addEventListener('click', (ev) => { ev.stopPropagation(); cancelJob(j.jobID); });
    line.append(b);
  }
  const bar = document.createElement('progress');
  bar.max = 100;
  bar.value = j.progress ?? 0;
  li.append(line, bar);
  li.addEventListener('click', () => selectJob(j.jobID));
  return li;
}

async function pollJobs() {
  try {
    const { body } = await api('/jobs?limit=50');
    state.jobs = body.jobs;
    $('joblist').replaceChildren(...state.jobs.map(jobItem));
    // the selected job's outputs appear as it finishes
    const sel = state.jobs.find((j) => j.jobID === state.selected);
    const shown = sel && state.shown.get(sel.jobID);
    if (shown && shown.status !== sel.status) selectJob(sel.jobID, false);
  } catch (e) {
    say(`jobs: ${e.message}`, true);
  }
  setTimeout(pollJobs, POLL_MS);
}

async function cancelJob(id) {
  try {
    await api(`/jobs/${encodeURIComponent(id)}`, { method: 'DELETE' });
    say(`job ${id} dismissed`);
  } catch (e) {
    say(`cancel ${id}: ${e.message}`, true);
  }
}

async function submitJob(ev) {
  ev.preventDefault();
  let job;
  try {
    job = JSON.parse($('jobjson').value);
  } catch (e) {
    say(`the job is not JSON: ${e.message}`, true);
    return;
  }
  if (!job || typeof job !== 'object' || Array.isArray(job)) {
    say('the job must be a JSON object (params, inputs, grid, zoom, output)', true);
    return;
  }
  // a job file names its process; the form's choice wins when they differ
  let proc = $('process').value;
  if (job.process) {
    if (!$('process').value) proc = job.process;
    delete job.process;
  }
  try {
    const { body } = await api(`/processes/${encodeURIComponent(proc)}/execution`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Prefer: 'respond-async' },
      body: JSON.stringify({ inputs: job }),
    });
    say(`job ${body.jobID} submitted (${body.status})`);
    state.selected = body.jobID;
  } catch (e) {
    say(`submit: ${e.message}`, true);
  }
}

// A job file, YAML (what `swath run` takes) or JSON, into the form as JSON.
async function readJobFile() {
  const f = $('jobfile').files[0];
  if (!f) return;
  const text = await f.text();
  let job;
  try {
    job = window.jsyaml.load(text); // (YAML 1.2: JSON is YAML too)
  } catch (e) {
    say(`${f.name}: not a YAML or JSON job file: ${e.message.split('\n')[0]}`, true);
    return;
  }
  if (!job || typeof job !== 'object' || Array.isArray(job)) {
    say(`${f.name}: a job file is a mapping (process, params, inputs, grid, zoom, output)`, true);
    return;
  }
  $('jobjson').value = JSON.stringify(job, null, 2);
  if (job.process && [...$('process').options].some((o) => o.value === job.process))
    $('process').value = job.process;
  say(`${f.name} loaded`);
}

// ---- a job's outputs --------------------------------------------------------
// Several jobs can be on the map at once (say, imagery tiles under another
// job's detections): each job's sources and layers are named job-ID-*.
// The panel's controls act on the selected job.

const L = (id, what) => `job-${id}-${what}`;
const DET = ['det-fill', 'det-line', 'det-point'];

// Rasters go under every vector layer, vectors on top.
function firstVector() {
  const l = map.getStyle().layers.find((x) => x.type !== 'raster' && x.type !== 'background');
  return l && l.id;
}

function hideJob(id) {
  const pre = `job-${id}-`;
  for (const l of map.getStyle().layers) if (l.id.startsWith(pre)) map.removeLayer(l.id);
  for (const s of Object.keys(map.getStyle().sources)) if (s.startsWith(pre)) map.removeSource(s);
  state.shown.delete(id);
}

// Select a job (its controls) and (re)draw its outputs; one load per job
// at a time (the job list's polling reloads a job whose status changed).
async function selectJob(id, fit = true) {
  if (state.loading.has(id)) return;
  state.loading.add(id);
  try {
    await showJob(id, fit);
  } finally {
    state.loading.delete(id);
  }
}

async function showJob(id, fit) {
  state.selected = id;
  for (const li of $('joblist').children) li.classList.toggle('selected', li.dataset.job === id);
  await mapReady;
  let doc;
  try {
    ({ body: doc } = await api(`/jobs/${encodeURIComponent(id)}`));
  } catch (e) {
    say(`job ${id}: ${e.message}`, true);
    return;
  }
  if (state.selected !== id) return;
  hideJob(id);
  const job = { status: doc.status, features: null, matched: 0, opacity: 1, threshold: 0.5, heat: true };
  state.shown.set(id, job);
  $('layers').hidden = false;
  $('selname').textContent = `#${id} ${doc.processID || ''} (${doc.status})`;
  const tiles = link(doc, 'tiles'), feats = link(doc, 'features'), heat = link(doc, 'heatmap');
  $('tilesctl').hidden = !tiles;
  $('featctl').hidden = !feats;
  $('heatctl').hidden = !heat;
  $('nooutput').hidden = !!(tiles || feats || heat);
  $('opacity').value = job.opacity;
  $('threshold').value = job.threshold;
  $('heatmap').checked = job.heat;
  let bounds = null;
  try {
    if (tiles) {
      const { body: tj } = await api(tiles.href);
      map.addSource(L(id, 'tiles'), rasterSource(tj));
      map.addLayer({ id: L(id, 'tiles'), type: 'raster', source: L(id, 'tiles'),
        paint: { 'raster-opacity': job.opacity, 'raster-fade-duration': 0 } }, firstVector());
      bounds = tj.bounds;
    }
    if (heat) {
      const { body: tj } = await api(heat.href);
      map.addSource(L(id, 'heat'), rasterSource(tj));
      map.addLayer({ id: L(id, 'heat'), type: 'raster', source: L(id, 'heat'),
        paint: { 'raster-opacity': 0.7, 'raster-fade-duration': 0 } }, firstVector());
      bounds = bounds || tj.bounds;
    }
    if (feats) {
      const fc = await loadFeatures(job, feats.href);
      map.addSource(L(id, 'det'), { type: 'geojson', data: fc });
      addDetectionLayers(id);
      if (fc.features.length) bounds = bbox(fc);
    }
  } catch (e) {
    say(`job ${id}: ${e.message}`, true);
  }
  if (fit && bounds) map.fitBounds(bounds, { padding: 20, animate: false });
}

// The features landing page -> its detections collection -> every item
// (following `next` links), each tagged with its index for counting.
async function loadFeatures(job, landing) {
  const base = landing.replace(/\/$/, '');
  let url = `${base}/collections/detections/items?limit=10000`;
  const out = [];
  let matched = null;
  while (url && out.length < MAX_FEATURES) {
    const { body } = await api(url);
    if (matched === null && body.numberMatched !== undefined) matched = body.numberMatched;
    for (const f of body.features) {
      f.properties = { ...f.properties, _i: out.length };
      out.push(f);
    }
    const next = link(body, 'next');
    url = next && body.features.length ? next.href : null;
  }
  job.features = out;
  job.matched = matched ?? out.length;
  return { type: 'FeatureCollection', features: out };
}

function detFilter(kind, t) {
  return ['all', ['==', ['geometry-type'], kind], ['>=', ['to-number', ['get', 'score'], 0], t]];
}

function addDetectionLayers(id) {
  const t = state.shown.get(id).threshold, src = L(id, 'det');
  map.addLayer({ id: L(id, 'det-fill'), type: 'fill', source: src, filter: detFilter('Polygon', t),
    paint: { 'fill-color': '#ff00ff', 'fill-opacity': 0.2 } });
  map.addLayer({ id: L(id, 'det-line'), type: 'line', source: src, filter: detFilter('Polygon', t),
    paint: { 'line-color': '#d000d0', 'line-width': 2 } });
  map.addLayer({ id: L(id, 'det-point'), type: 'circle', source: src, filter: detFilter('Point', t),
    paint: { 'circle-color': '#ff00ff', 'circle-radius': 4, 'circle-stroke-width': 1 } });
  showCount();
}

// How many of the selected job's detections pass its threshold.
function showCount() {
  const job = state.shown.get(state.selected);
  const t = Number($('threshold').value);
  $('thrval').textContent = t.toFixed(2);
  if (!job || !job.features) return;
  const n = job.features.filter((f) => Number(f.properties.score) >= t).length;
  const more = job.matched > job.features.length
    ? ` (the first ${job.features.length} of ${job.matched} loaded)` : '';
  $('featcount').textContent = `${n} of ${job.features.length} detections drawn${more}`;
  $('featcount').dataset.drawn = String(n);
}

function onThreshold() {
  const id = state.selected, job = state.shown.get(id);
  if (!job) return;
  job.threshold = Number($('threshold').value);
  for (const what of DET) {
    if (!map.getLayer(L(id, what))) continue;
    map.setFilter(L(id, what), detFilter(what === 'det-point' ? 'Point' : 'Polygon', job.threshold));
  }
  showCount();
}

function onOpacity() {
  const id = state.selected, job = state.shown.get(id);
  if (!job) return;
  job.opacity = Number($('opacity').value);
  if (map.getLayer(L(id, 'tiles'))) map.setPaintProperty(L(id, 'tiles'), 'raster-opacity', job.opacity);
}

function onHeatmap() {
  const id = state.selected, job = state.shown.get(id);
  if (!job) return;
  job.heat = $('heatmap').checked;
  if (map.getLayer(L(id, 'heat')))
    map.setLayoutProperty(L(id, 'heat'), 'visibility', job.heat ? 'visible' : 'none');
}

function onHide() {
  if (!state.selected) return;
  hideJob(state.selected);
  $('layers').hidden = true;
}

function bbox(fc) {
  let w = 180, s = 90, e = -180, n = -90;
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      w = Math.min(w, c[0]); e = Math.max(e, c[0]); s = Math.min(s, c[1]); n = Math.max(n, c[1]);
    } else c.forEach(walk);
  };
  for (const f of fc.features) if (f.geometry) walk(f.geometry.coordinates);
  return [w, s, e, n];
}

// The click popup of the detection under the pointer, if any.
const clickable = () => map.getStyle().layers
  .filter((l) => /^job-.*-det-(fill|point)$/.test(l.id)).map((l) => l.id);
map.on('click', (ev) => {
  if (catalog.drawing) return;
  const layers = clickable();
  const hit = layers.length ? map.queryRenderedFeatures(ev.point, { layers }) : [];
  if (hit.length) popupFor(ev, hit[0].properties);
});
map.on('mousemove', (ev) => {
  if (catalog.drawing) return;
  const layers = clickable();
  const hit = layers.length && map.queryRenderedFeatures(ev.point, { layers }).length;
  map.getCanvas().style.cursor = hit ? 'pointer' : '';
});

function popupFor(ev, p) {
  const div = document.createElement('div');
  const rows = [['score', Number(p.score).toFixed(3)], ['class', p.class],
    ['tile', `${p.z}/${p.x}/${p.y}`]];
  for (const [k, v] of rows) {
    const r = document.createElement('div');
    r.textContent = `${k}: ${v}`;
    div.append(r);
  }
  new maplibregl.Popup().setLngLat(ev.lngLat).setDOMContent(div).addTo(map);
}

// ---- catalog search ---------------------------------------------------------

async function initCatalog() {
  $('catalog').hidden = false;
  const sel = $('sortby');
  sel.append(new Option('newest first', '-datetime'), new Option('least cloud', '+eo:cloud_cover'));
  // colour ranks when the catalog's queryables have colour statistics
  try {
    const { body: q } = await api('/queryables');
    for (const name of Object.keys(q.properties || {}).filter((k) => k.startsWith('color:'))) {
      if (name === 'color:method' || name === 'color:source' || name === 'color:pixels') continue;
      const c = name.slice(6);
      sel.append(new Option(`most ${c}`, `-${name}`), new Option(`least ${c}`, `+${name}`));
    }
  } catch { /* no queryables: date and cloud ranks only */ }
  map.addSource('cat-box', { type: 'geojson', data: empty() });
  map.addLayer({ id: 'cat-box', type: 'line', source: 'cat-box',
    paint: { 'line-color': '#0066cc', 'line-width': 2, 'line-dasharray': [2, 1] } });
  map.addSource('cat-foot', { type: 'geojson', data: empty() });
  map.addLayer({ id: 'cat-foot', type: 'fill', source: 'cat-foot',
    paint: { 'fill-color': ['coalesce', ['get', '_rgb'], '#3388ff'], 'fill-opacity': 0.35 } });
  map.addLayer({ id: 'cat-foot-line', type: 'line', source: 'cat-foot',
    paint: { 'line-color': '#1d4f91', 'line-width': 1 } });
}

const empty = () => ({ type: 'FeatureCollection', features: [] });

function boxFeature(a, b) {
  const w = Math.min(a.lng, b.lng), e = Math.max(a.lng, b.lng);
  const s = Math.min(a.lat, b.lat), n = Math.max(a.lat, b.lat);
  catalog.box = [w, s, e, n].map((v) => Math.round(v * 1e6) / 1e6);
  return { type: 'FeatureCollection', features: [{ type: 'Feature', properties: {},
    geometry: { type: 'Polygon', coordinates: [[[w, s], [e, s], [e, n], [w, n], [w, s]]] } }] };
}

function startDraw() {
  catalog.drawing = true;
  map.dragPan.disable();
  map.getCanvas().style.cursor = 'crosshair';
  $('boxtext').textContent = 'drag on the map';
}

map.on('mousedown', (e) => {
  if (!catalog.drawing) return;
  catalog.start = e.lngLat;
});
map.on('mousemove', (e) => {
  if (!catalog.drawing || !catalog.start) return;
  map.getSource('cat-box').setData(boxFeature(catalog.start, e.lngLat));
});
map.on('mouseup', (e) => {
  if (!catalog.drawing || !catalog.start) return;
  map.getSource('cat-box').setData(boxFeature(catalog.start, e.lngLat));
  catalog.drawing = false;
  catalog.start = null;
  map.dragPan.enable();
  map.getCanvas().style.cursor = '';
  $('boxtext').textContent = catalog.box.join(', ');
});

function rgbOf(p) {
  const r = p['color:red'], g = p['color:green'], b = p['color:blue'];
  if ([r, g, b].some((v) => typeof v !== 'number')) return null;
  const c = (v) => Math.max(0, Math.min(255, Math.round(v)));
  return `rgb(${c(r)}, ${c(g)}, ${c(b)})`;
}

async function search() {
  const body = { limit: 100 };
  if (catalog.box) body.bbox = catalog.box;
  const from = $('from').value, to = $('to').value;
  if (from || to)
    body.datetime = `${from ? from + 'T00:00:00Z' : '..'}/${to ? to + 'T23:59:59Z' : '..'}`;
  const cloud = $('cloud').value;
  if (cloud !== '' && Number(cloud) < 100) body.query = { 'eo:cloud_cover': { lte: Number(cloud) } };
  const s = $('sortby').value;
  body.sortby = [{ field: s.slice(1), direction: s[0] === '-' ? 'desc' : 'asc' }];
  let res;
  try {
    ({ body: res } = await api('/search', { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body) }));
  } catch (e) {
    say(`search: ${e.message}`, true);
    return;
  }
  // the server's order is the rank: keep it
  const feats = res.features.map((f, i) => {
    const rgb = rgbOf(f.properties || {});
    return { ...f, id: undefined, properties: { ...f.properties, _rank: i + 1, _id: f.id, ...(rgb ? { _rgb: rgb } : {}) } };
  });
  map.getSource('cat-foot').setData({ type: 'FeatureCollection', features: feats });
  const n = res.numberMatched ?? res.context?.matched;
  $('searchcount').textContent = `${feats.length} scenes${n !== undefined && n > feats.length ? ` of ${n}` : ''}`;
  $('results').replaceChildren(...feats.map((f) => {
    const p = f.properties;
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = 'swatch';
    sw.style.background = p._rgb || 'transparent';
    const t = document.createElement('span');
    const cc = p['eo:cloud_cover'];
    t.textContent = `${p._rank}. ${p._id} ${(p.datetime || '').slice(0, 10)}${cc !== undefined ? ` ☁${cc}%` : ''}`;
    li.append(sw, t);
    li.addEventListener('click', () => f.geometry && map.fitBounds(bbox({ features: [f] }), { padding: 40 }));
    return li;
  }));
  if (feats.length && !catalog.box) map.fitBounds(bbox({ features: feats }), { padding: 20, animate: false });
}

// ---- wiring -----------------------------------------------------------------

$('apikey').value = localStorage.getItem('swath.apikey') || '';
$('apikey').addEventListener('change', () => localStorage.setItem('swath.apikey', $('apikey').value.trim()));
$('jobform').addEventListener('submit', submitJob);
$('jobfile').addEventListener('change', readJobFile);
$('opacity').addEventListener('input', onOpacity);
$('threshold').addEventListener('input', onThreshold);
$('heatmap').addEventListener('change', onHeatmap);
$('hide').addEventListener('click', onHide);
$('drawbox').addEventListener('click', startDraw);
$('search').addEventListener('click', search);

window.swathViewer = { map, state, catalog, selectJob, search, ready: null };
// The landing page says what this server serves: jobs, a catalog or both.
window.swathViewer.ready = (async () => {
  await mapReady;
  let land = {};
  try {
    ({ body: land } = await api('/'));
  } catch (e) {
    say(`the server's landing page: ${e.message}`, true);
    return;
  }
  const hasJobs = !!link(land, 'http://www.opengis.net/def/rel/ogc/1.0/processes');
  $('submit').hidden = $('jobs').hidden = !hasJobs;
  await Promise.all([
    hasJobs && loadProcesses().catch((e) => say(`processes: ${e.message}`, true)),
    link(land, 'search') && initCatalog().catch((e) => say(`catalog: ${e.message}`, true)),
  ]);
  if (hasJobs) pollJobs();
})();

// viewer.mjs: drives the map viewer (web/) in Debian's headless chromium
// through playwright-core for tests/integration/test_viewer.sh, and writes
// what it saw: OUT/observed.json and screenshots. It decides nothing: the
// test's Python compares the observations with oracles (the served tiles
// read by GDAL, the feature store read by OGR, the catalog's items).
//
//   node viewer.mjs CONFIG.json
//
// CONFIG: base (the server), out (folder), chromium, worker (argv of a
// `swath worker` to start once the cancel check is done; after_jobs: argv
// of a command to run once the jobs have ended), form_job and
// cancel_job (job JSON posted through the form), imagery and detect (ids of
// jobs posted beforehand), search (the catalog search to make).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const require = createRequire(new URL('../../web/', import.meta.url));
const { chromium } = require('playwright-core');
const yaml = require('js-yaml');

const obs = { console: [], http_errors: [], steps: [] };
const save = () => writeFileSync(`${cfg.out}/observed.json`, JSON.stringify(obs, null, 1));
const step = (s) => { obs.steps.push(s); console.error(`viewer.mjs: ${s}`); save(); };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let worker = null;
const browser = await chromium.launch({
  executablePath: cfg.chromium,
  // software WebGL (SwiftShader through ANGLE): no GPU on test machines
  args: ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
  page.on('console', (m) => {
    if (m.type() === 'error') obs.console.push({ text: m.text(), url: m.location().url });
  });
  page.on('pageerror', (e) => obs.console.push({ text: `pageerror: ${e.message}`, url: '' }));
  page.on('response', (r) => { if (r.status() >= 400) obs.http_errors.push(`${r.status()} ${r.url()}`); });

  await page.goto(`${cfg.base}/viewer/`);
  await page.waitForFunction(() => window.swathViewer && window.swathViewer.ready, null, { timeout: 30000 });
  await page.evaluate(() => window.swathViewer.ready);
  obs.webgl = await page.evaluate(() => {
    const gl = window.swathViewer.map.getCanvas().getContext('webgl2');
    return gl ? gl.getParameter(gl.VERSION) : null;
  });
  obs.processes = await page.$$eval('#process option', (os) => os.map((o) => o.value));
  step('page loaded');

  const submit = async (job) => {
    await page.selectOption('#process', job.process);
    const body = { ...job };
    delete body.process;
    await page.fill('#jobjson', JSON.stringify(body));
    await page.click('#jobform button[type=submit]');
    await page.waitForFunction(() => /job \d+ submitted|submit:/.test(document.querySelector('#status').textContent));
    const text = await page.textContent('#status');
    const m = text.match(/job (\d+) submitted/);
    if (!m) throw new Error(`the form's submission: ${text}`);
    return m[1];
  };
  // The same through a YAML job file, as `swath run` takes it (process
  // included), loaded with the form's file input.
  const submitFile = async (job) => {
    await page.selectOption('#process', 'detect'); // (the file's process must win)
    await page.setInputFiles('#jobfile', { name: 'job.yaml', mimeType: 'application/yaml',
                                           buffer: Buffer.from(yaml.dump(job)) });
    await page.waitForFunction(() => /job\.yaml/.test(document.querySelector('#status').textContent));
    obs.yaml_loaded = await page.textContent('#status');
    obs.yaml_process = await page.inputValue('#process');
    await page.click('#jobform button[type=submit]');
    await page.waitForFunction(() => /job \d+ submitted|submit:/.test(document.querySelector('#status').textContent));
    const text = await page.textContent('#status');
    const m = text.match(/job (\d+) submitted/);
    if (!m) throw new Error(`the form's submission of a YAML file: ${text}`);
    return m[1];
  };
  const statusOf = (id) => page.evaluate((id) => {
    const li = document.querySelector(`#joblist li[data-job="${id}"] .status`);
    return li ? li.textContent : null;
  }, id);
  const waitStatus = async (id, re, ms) => {
    const t0 = Date.now();
    let s = null;
    while (Date.now() - t0 < ms) {
      s = await statusOf(id);
      if (s && re.test(s)) return s;
      await sleep(250);
    }
    return s;
  };

  // Cancel: a job that no worker runs yet, cancelled from its list item.
  const cancelId = await submit(cfg.cancel_job);
  obs.cancel = { id: cancelId, before: await waitStatus(cancelId, /^accepted/, 15000) };
  await page.click(`#joblist li[data-job="${cancelId}"] button.cancel`);
  obs.cancel.after = await waitStatus(cancelId, /^dismissed/, 15000);
  step('cancel');

  // The job submitted through the form, then the worker for every job.
  obs.form = { id: await submitFile(cfg.form_job) };
  worker = spawn(cfg.worker[0], cfg.worker.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let wlog = '';
  worker.stderr.on('data', (d) => { wlog = (wlog + d).slice(-4000); });
  for (const [k, id] of [['form', obs.form.id], ['imagery', cfg.imagery], ['detect', cfg.detect]]) {
    obs[k] = obs[k] || { id };
    obs[k].status = await waitStatus(id, /^(successful|failed|dismissed)/, 240000);
  }
  obs.worker_log = wlog;
  if (cfg.after_jobs) {
    const r = spawnSync(cfg.after_jobs[0], cfg.after_jobs.slice(1), { encoding: 'utf8' });
    obs.after_jobs = { status: r.status, stderr: (r.stderr || '').slice(-2000) };
  }
  step('jobs ran');

  const select = async (id) => {
    await page.click(`#joblist li[data-job="${id}"]`);
    await page.waitForFunction((id) => {
      const v = window.swathViewer;
      return v.state.shown.has(id) && !v.state.loading.has(id);
    }, id, { timeout: 30000 });
    await idle();
    return page.evaluate((id) => window.swathViewer.map.getStyle().layers
      .map((l) => l.id).filter((x) => x.startsWith(`job-${id}-`)), id);
  };
  const idle = () => page.evaluate(() => new Promise((resolve) => {
    const m = window.swathViewer.map;
    m.triggerRepaint();
    m.once('idle', resolve);
  }));
  const mapBox = await page.locator('#map canvas').boundingBox();
  const shot = (name, full = false) => page.screenshot(
    full ? { path: `${cfg.out}/${name}` } : { path: `${cfg.out}/${name}`, clip: mapBox });

  // The form's job: its tiles at 1:1 (map zoom Z-1 shows 256-pixel tiles
  // of zoom Z unscaled), pixels sampled across one tile.
  obs.form.layers = await select(obs.form.id);
  if (obs.form.layers.includes(`job-${obs.form.id}-tiles`)) {
    const r = await page.evaluate(async (id) => {
      const v = window.swathViewer, m = v.map;
      const src = m.getSource(`job-${id}-tiles`);
      const z = src.maxzoom, b = src.bounds || [-180, -85, 180, 85];
      const lon = (b[0] + b[2]) / 2, lat = (b[1] + b[3]) / 2;
      const n = 2 ** z;
      const gx = (lon + 180) / 360 * n;
      const gy = (1 - Math.asinh(Math.tan(lat * Math.PI / 180)) / Math.PI) / 2 * n;
      const tx = Math.floor(gx), ty = Math.floor(gy);
      const unproject = (x, y) => [x / n * 360 - 180,
        Math.atan(Math.sinh(Math.PI * (1 - 2 * y / n))) * 180 / Math.PI];
      m.jumpTo({ center: unproject(tx + 0.5, ty + 0.5), zoom: z - 1 });
      const samples = [];
      for (const py of [40, 128, 216]) for (const px of [40, 128, 216]) {
        const p = m.project(unproject(tx + (px + 0.5) / 256, ty + (py + 0.5) / 256));
        samples.push({ z, x: tx, y: ty, px, py, cx: p.x, cy: p.y });
      }
      return { samples, url: m.getSource(`job-${id}-tiles`).tiles[0] };
    }, obs.form.id);
    Object.assign(obs.form, r);
    await idle();
    await shot('tiles.png');
    await page.locator('#opacity').evaluate((el) => { el.value = '0'; el.dispatchEvent(new Event('input')); });
    await idle();
    await shot('tiles_opacity0.png');
    await page.locator('#opacity').evaluate((el) => { el.value = '1'; el.dispatchEvent(new Event('input')); });
  }
  step('tiles');

  // The imagery under the detect job's detections and heatmap.
  obs.imagery.layers = await select(cfg.imagery);
  obs.detect.layers = await select(cfg.detect);
  const did = cfg.detect;
  obs.detect.counts = {};
  const det = [`job-${did}-det-fill`, `job-${did}-det-line`, `job-${did}-det-point`];
  if (obs.detect.layers.includes(det[0])) {
    obs.detect.loaded = await page.evaluate((id) => window.swathViewer.state.shown.get(id).features.length, did);
    for (const t of cfg.thresholds) {
      await page.locator('#threshold').evaluate((el, t) => { el.value = String(t); el.dispatchEvent(new Event('input')); }, t);
      await idle();
      obs.detect.counts[t] = await page.evaluate(({ layers }) => {
        const fs = window.swathViewer.map.queryRenderedFeatures({ layers });
        return {
          rendered: new Set(fs.map((f) => f.properties._i)).size,
          said: Number(document.querySelector('#featcount').dataset.drawn),
        };
      }, { layers: det });
    }
    // the popup of one drawn detection (the largest on screen, clicked at its middle)
    await page.locator('#threshold').evaluate((el) => { el.value = '0'; el.dispatchEvent(new Event('input')); });
    await idle();
    const target = await page.evaluate((layer) => {
      const m = window.swathViewer.map;
      let best = null;
      for (const f of m.queryRenderedFeatures({ layers: [layer] })) {
        const ring = f.geometry.type === 'Polygon' ? f.geometry.coordinates[0] : null;
        if (!ring) continue;
        const ps = ring.map((c) => m.project(c));
        const xs = ps.map((p) => p.x), ys = ps.map((p) => p.y);
        const area = (Math.max(...xs) - Math.min(...xs)) * (Math.max(...ys) - Math.min(...ys));
        if (!best || area > best.area)
          best = { area, x: (Math.max(...xs) + Math.min(...xs)) / 2, y: (Math.max(...ys) + Math.min(...ys)) / 2 };
      }
      if (!best) return null;
      const at = m.queryRenderedFeatures([best.x, best.y], { layers: [layer] });
      return { ...best, props: at.length ? at[0].properties : null };
    }, det[0]);
    obs.detect.popup_target = target;
    if (target) {
      await page.mouse.click(mapBox.x + target.x, mapBox.y + target.y);
      await page.waitForSelector('.maplibregl-popup-content', { timeout: 5000 }).catch(() => null);
      obs.detect.popup = await page.evaluate(() => {
        const p = document.querySelector('.maplibregl-popup-content');
        return p ? p.innerText : null;
      });
      await page.evaluate(() => document.querySelectorAll('.maplibregl-popup').forEach((p) => p.remove()));
    }
    await page.locator('#threshold').evaluate((el) => { el.value = '0.5'; el.dispatchEvent(new Event('input')); });
  }
  if (obs.detect.layers.includes(`job-${did}-heat`)) {
    await idle();
    await shot('heatmap_on.png');
    await page.uncheck('#heatmap');
    await idle();
    await shot('heatmap_off.png');
    await page.check('#heatmap');
  }
  await idle();
  await shot('viewer.png', true);
  step('detections');

  // Catalog search: a box drawn with the mouse, dates, cloud, a rank.
  obs.search = { shown: await page.isVisible('#catalog') };
  if (obs.search.shown) {
    obs.search.sortby_options = await page.$$eval('#sortby option', (os) => os.map((o) => o.value));
    const s = cfg.search;
    await page.evaluate((c) => window.swathViewer.map.jumpTo({ center: c.center, zoom: c.zoom }), s);
    const [a, b] = await page.evaluate((c) => c.corners.map((ll) => window.swathViewer.map.project(ll)), s);
    await page.click('#drawbox');
    await page.mouse.move(mapBox.x + a.x, mapBox.y + a.y);
    await page.mouse.down();
    await page.mouse.move(mapBox.x + (a.x + b.x) / 2, mapBox.y + (a.y + b.y) / 2, { steps: 4 });
    await page.mouse.move(mapBox.x + b.x, mapBox.y + b.y, { steps: 4 });
    await page.mouse.up();
    await page.fill('#from', s.from);
    await page.fill('#to', s.to);
    await page.fill('#cloud', String(s.cloud));
    await page.selectOption('#sortby', s.sortby);
    await page.click('#search');
    await page.waitForFunction(() => document.querySelector('#searchcount').textContent !== '', null, { timeout: 10000 });
    await idle();
    Object.assign(obs.search, await page.evaluate(() => {
      const m = window.swathViewer.map;
      return {
        box: window.swathViewer.catalog.box,
        listed: [...document.querySelectorAll('#results li')].map((li) => li.textContent),
        drawn: [...new Set(m.queryRenderedFeatures({ layers: ['cat-foot'] }).map((f) => f.properties._id))],
      };
    }));
    await shot('search.png', true);
  }
  step('search');
} catch (e) {
  obs.error = String(e && e.stack || e);
} finally {
  save();
  if (worker) worker.kill('SIGTERM');
  await browser.close();
}

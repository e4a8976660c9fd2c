// page-test.mjs: the browser test of `groundlmm serve`'s page (GET /). Debian's chromium, driven by puppeteer-core
// (npm, installed by scripts/setup.sh into tests/browser/node_modules; it downloads no browser), against a server
// this test starts with the embedded toy model (`groundlmm demo -o DIR` writes it to DIR/model; region refiner).
//
//   node page-test.mjs <groundlmm binary> <output folder>
//
// Checks what a person sees: the page loads and builds its settings from /props; the bundled scene dropped on the
// drop zone is shown; the answer streams token by token (one visible text per token event, the last equal to the
// result's answer); each phrase's chip appears when its sentence is complete, while tokens still stream (chip events,
// then its point and mask from the phrase and mask events); clicking a phrase draws its mask on the mask layer (the canvas pixels are compared with the
// mask decoded here from result.json's COCO RLE, an implementation of our own, not the page's); the heat layer has
// pixels; clicking the phrase's point lists it; moving the point re-segments (the mask layer becomes /segment's mask
// for the new point) and shift-click adds a point sent by image hash; a request the server refuses shows the
// server's message; the index.html that `groundlmm demo` writes, opened from its folder without a server, shows the
// saved result.json; a focused chip is selected with Enter; the downloads are the result and a PNG of the image's
// size; the curl command; every visible text has a contrast of 4.5:1 or more. Screenshots go to the output folder (page-loaded.png, page-result.png, page-token.png,
// page-phrase.png, page-edit.png, page-error.png, page-offline.png).
// Environment: CHROMIUM overrides the browser (default /usr/bin/chromium).
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { createRequire } from 'node:module';

const [groundlmm, outDir] = process.argv.slice(2);
if (!groundlmm || !outDir) {
  console.error('usage: node page-test.mjs <groundlmm binary> <output folder>');
  process.exit(2);
}
const chromium = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(chromium)) {
  console.error(`no browser at ${chromium}: install Debian's chromium (scripts/setup.sh does) or set CHROMIUM`);
  process.exit(1);
}
let puppeteer;
try {
  puppeteer = createRequire(import.meta.url)('puppeteer-core');
} catch (e) {
  console.error(`puppeteer-core is not installed in ${path.dirname(new URL(import.meta.url).pathname)}/node_modules: ` +
                `run scripts/setup.sh (npm ci there) (${e.message})`);
  process.exit(1);
}

let failures = 0;
function check(ok, what) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
}

// COCO compressed RLE (pycocotools' rleFrString), column-major: the number of foreground pixels and a test of one.
function rleDecode(m) {
  const s = m.counts;
  const cnts = [];
  for (let p = 0; p < s.length;) {
    let x = 0, k = 0, more = 1;
    while (more) {
      const c = s.charCodeAt(p) - 48;
      x |= (c & 0x1f) << (5 * k);
      more = c & 0x20;
      p++; k++;
      if (!more && (c & 0x10)) x |= -1 << (5 * k);
    }
    if (cnts.length > 2) x += cnts[cnts.length - 2];
    cnts.push(x);
  }
  const [h, w] = m.size;
  const bits = new Uint8Array(h * w);  // row-major
  let idx = 0;
  cnts.forEach((n, i) => {
    if (i % 2) for (let j = idx; j < idx + n; ++j) bits[(j % h) * w + Math.floor(j / h)] = 1;
    idx += n;
  });
  return { h, w, bits };
}

fs.mkdirSync(outDir, { recursive: true });
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-page-'));
execFileSync(groundlmm, ['demo', '-o', work, '-t', '1'], { stdio: ['ignore', 'ignore', 'inherit'] });
const scene = path.join(work, 'scene.png');

// the server on any free port; the bound port is read from its log line
const server = spawn(groundlmm, ['serve', '-m', path.join(work, 'model', 'toy-llm.gguf'), '--mmproj',
                                 path.join(work, 'model', 'toy-vit.gguf'), '--refiner', 'region', '--port', '0', '-t', '1'],
                     { stdio: ['ignore', 'ignore', 'pipe'] });
let serverLog = '';
const port = await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error('the server did not start within 60 s:\n' + serverLog)), 60000);
  server.stderr.on('data', (d) => {
    serverLog += d;
    const m = /listening on http:\/\/[^:]+:(\d+)/.exec(serverLog);
    if (m) { clearTimeout(timer); resolve(Number(m[1])); }
  });
  server.on('exit', (code) => reject(new Error(`the server exited (${code}):\n${serverLog}`)));
});
const base = `http://127.0.0.1:${port}`;

// the protocol first, with Node's own HTTP client: POST /ground with stream=1 answers text/event-stream with token
// events, one phrase event per phrase, one mask event per mask and a last done event holding the plain reply
async function ground(extra) {
  const form = new FormData();
  form.append('image', new Blob([fs.readFileSync(scene)], { type: 'image/png' }), 'scene.png');
  for (const [k, v] of extra) form.append(k, v);
  return fetch(`${base}/ground`, { method: 'POST', body: form });
}
let streamTokens = [];  // the token texts of the streamed run (the page's run is the same greedy request)
{
  const plain = await ground([]);
  check(plain.status === 200 && plain.headers.get('content-type') === 'application/json',
        `without stream: ${plain.status} ${plain.headers.get('content-type')}`);
  const want = await plain.json();
  const sse = await ground([['stream', '1']]);
  check(sse.status === 200 && sse.headers.get('content-type').startsWith('text/event-stream'),
        `with stream: ${sse.status} ${sse.headers.get('content-type')}`);
  const events = (await sse.text()).split('\n\n').filter((f) => f).map((f) => {
    const name = /^event: (.*)$/m.exec(f)[1];
    return { name, data: JSON.parse(/^data: (.*)$/m.exec(f)[1]) };
  });
  const count = (n) => events.filter((e) => e.name === n).length;
  const done = events[events.length - 1];
  streamTokens = events.filter((e) => e.name === 'token').map((e) => e.data.text);
  const tokens = streamTokens.join('');
  check(count('token') >= 5 && tokens.trim() === want.answer.trim(),
        `${count('token')} token events, joined: '${tokens}'`);
  check(count('phrase') === want.phrases.length && count('mask') === want.phrases.filter((p) => p.mask).length,
        `${count('phrase')} phrase and ${count('mask')} mask events for ${want.phrases.length} phrases`);
  const order = events.map((e) => e.name === 'maps' ? 'M' : e.name[0]).join('');
  check(/^t+[tc]*Mp+m*d$/.test(order), `event order ${order} (t token, c chip, M maps, p phrase, m mask, d done)`);
  // the chips: one per phrase of the result (same text and span), the first sent while tokens were still coming
  const chipEvents = events.filter((e) => e.name === 'chip').map((e) => e.data);
  check(JSON.stringify(chipEvents.map((c) => [c.text, c.span])) === JSON.stringify(want.phrases.map((p) => [p.text, p.span])),
        `chip events are the result's phrases: ${chipEvents.map((c) => c.text + ' @' + c.after_token).join(' | ')}`);
  const firstChip = events.findIndex((e) => e.name === 'chip'), lastToken = events.map((e) => e.name).lastIndexOf('token');
  check(firstChip >= 0 && firstChip < lastToken,
        `the first chip (event ${firstChip}) comes before the last token (event ${lastToken})`);
  const maps = events.find((e) => e.name === 'maps').data;
  const nFloats = Buffer.from(maps.maps, 'base64').length / 4;
  check(maps.rows === count('token') && nFloats === maps.rows * maps.grid.w * maps.grid.h,
        `the maps event: ${maps.rows} rows of ${maps.grid.w}x${maps.grid.h} (${nFloats} floats) for ${count('token')} tokens`);
  delete want.timings;
  delete done.data.timings;
  check(done.name === 'done' && JSON.stringify(done.data) === JSON.stringify(want),
        'the done event is the reply without stream (timings aside)');
  const bad = await ground([['stream', '1'], ['n_predict', '0']]);
  const badBody = await bad.json();
  check(bad.status === 400 && /n_predict/.test(badBody.error), `a bad field with stream: ${bad.status} ${badBody.error}`);
}

const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-proxy-server'],
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1000 });
  const offsite = [];
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) offsite.push(r.url()); });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));

  await page.goto(base + '/', { waitUntil: 'load' });
  await page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
  const props = await (await fetch(base + '/props')).json();
  const served = props.settings.filter((s) => s.field && s.name !== 'prompt' && s.name !== 'answer').map((s) => s.name);
  const controls = await page.$$eval('#settings [data-setting]', (els) => els.map((e) => e.dataset.setting));
  check(served.length > 5 && JSON.stringify(controls) === JSON.stringify(served),
        `settings controls built from /props: ${controls.join(', ')}`);
  await page.screenshot({ path: path.join(outDir, 'page-loaded.png') });

  // drop the bundled scene on the drop zone (a real DataTransfer with the file's bytes)
  const b64 = fs.readFileSync(scene).toString('base64');
  await page.evaluate((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], 'scene.png', { type: 'image/png' }));
    document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  }, b64);
  await page.waitForFunction(() => document.getElementById('image-layer').width > 1, { timeout: 5000 });
  const size = await page.$eval('#image-layer', (c) => [c.width, c.height]);
  check(size[0] === 256 && size[1] === 256, `the dropped scene is drawn (${size.join(' x ')})`);

  // every text the answer box shows while the request runs
  await page.evaluate(() => {
    window.__answers = [];
    new MutationObserver(() => window.__answers.push(document.getElementById('answer').textContent))
      .observe(document.getElementById('answer'), { childList: true, characterData: true, subtree: true });
  });
  await page.click('#run');
  await page.waitForFunction(() => /^done/.test(document.getElementById('status').textContent) ||
                                   document.getElementById('messages').childElementCount > 0, { timeout: 60000 });
  const messages = await page.$eval('#messages', (e) => e.textContent);
  check(messages === '', `no error message after the run (${messages})`);
  const result = await page.evaluate(() => state.result);
  check(result && result.format === 'groundlmm.ground/1' && result.phrases.length > 0,
        `result.json arrived (${result ? result.phrases.length : 0} phrases)`);
  const answers = await page.evaluate(() => window.__answers);
  const growing = [...new Set(answers)].filter((a) => a.length && result.answer.trim().startsWith(a.trim()));
  check(growing.length >= 2, `the answer streamed: ${growing.length} growing texts before the result, e.g. '${growing[2]}'`);
  // a chip was put on the page while the answer still streamed: each chip records how many token events the page had
  // drawn when it added the chip (a MutationObserver would not do: it sees the DOM only between network chunks)
  const afterTokens = await page.$$eval('#chips .chip', (els) => els.map((e) => Number(e.dataset.afterTokens)));
  check(afterTokens.length === result.phrases.length && afterTokens[0] > 0 && afterTokens[0] < streamTokens.length,
        `the first chip was shown after ${afterTokens[0]} of ${streamTokens.length} tokens (all: ${afterTokens.join(', ')})`);
  const shown = await page.$eval('#answer', (e) => e.textContent);
  check(shown === result.answer, `the answer shown is the result's ('${shown}')`);
  const chips = await page.$$eval('#chips .chip', (els) => els.map((e) => e.textContent));
  check(chips.length === result.phrases.length, `one chip per phrase: ${chips.join(' | ')}`);
  await page.screenshot({ path: path.join(outDir, 'page-result.png') });

  // the keyboard alone: Tab to the first chip, Enter selects it (its mask drawn), Enter again deselects
  await page.focus('#chips .chip[data-index="0"]');
  await page.keyboard.press('Enter');
  const kbd = await page.evaluate(() => [document.querySelector('#chips .chip[data-index="0"]').getAttribute('aria-pressed'), state.selected]);
  await page.keyboard.press('Enter');
  const kbd2 = await page.evaluate(() => state.selected);
  check(kbd[0] === 'true' && kbd[1] === 0 && kbd2 === -1, `Enter on a focused chip selects it and again deselects (${kbd}, ${kbd2})`);
  await page.evaluate(() => document.activeElement.blur());

  // downloads: result.json is the result, overlay.png a PNG of the image's size
  const dl = path.join(work, 'downloads');
  fs.mkdirSync(dl);
  const cdp = await page.createCDPSession();
  await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dl });
  await page.click('#dl-json');
  await page.click('#dl-png');
  const waitFile = async (f) => {
    for (let t = 0; t < 100 && !fs.existsSync(path.join(dl, f)); ++t) await new Promise((r) => setTimeout(r, 100));
    return fs.existsSync(path.join(dl, f)) ? fs.readFileSync(path.join(dl, f)) : null;
  };
  const dj = await waitFile('result.json'), dp = await waitFile('overlay.png');
  check(dj && JSON.stringify(JSON.parse(dj)) === JSON.stringify(result), `Download result.json gives the result (${dj ? dj.length : 0} bytes)`);
  check(dp && dp.subarray(1, 4).toString() === 'PNG' && dp.readUInt32BE(16) === size[0] && dp.readUInt32BE(20) === size[1],
        `Download overlay PNG gives a ${dp ? dp.readUInt32BE(16) + 'x' + dp.readUInt32BE(20) : 'missing'} PNG`);
  const curl = await page.$eval('#curl', (e) => e.textContent);
  check(curl === `curl -N -F 'image=@scene.png' -F 'prompt=Describe the image in detail.' -F stream=1 ${base}/ground`,
        `the curl command: ${curl}`);

  // readable contrast: every visible text against the background it is drawn on, WCAG AA (4.5:1)
  const lowContrast = await page.evaluate(() => {
    const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; })
      .reduce((a, v, i) => a + v * [0.2126, 0.7152, 0.0722][i], 0);
    const bg = (el) => {
      for (; el; el = el.parentElement) {
        const c = rgb(getComputedStyle(el).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const bad = [];
    for (const el of document.querySelectorAll('body *')) {
      const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!own || !el.offsetParent || el.disabled || el.closest('button:disabled')) continue;
      const a = lum(rgb(getComputedStyle(el).color)), b = lum(bg(el));
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      if (ratio < 4.5) bad.push(el.tagName + '.' + el.className + ' "' + el.textContent.trim().slice(0, 20) + '" ' + ratio.toFixed(2));
    }
    return bad;
  });
  check(lowContrast.length === 0, `text contrast >= 4.5:1 (${lowContrast.join('; ')})`);

  // the token scrubber: moving it shows that output token's map on the heat layer and names the token
  const heatOf = () => page.$eval('#heat-layer', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let k = 3; k < d.length; k += 4) n += d[k];
    return n;
  });
  await page.focus('#token-scrub');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  const scrub = await page.evaluate(() => [document.getElementById('token-scrub').value, document.getElementById('show-token').checked,
                                           document.getElementById('token-label').textContent]);
  const heat2 = await heatOf();
  await page.keyboard.press('ArrowRight');
  const heat3 = await heatOf();
  check(scrub[0] === '2' && scrub[1] && scrub[2] === 'token 2: ' + JSON.stringify(streamTokens[2]) &&
        heat2 > 0 && heat3 > 0 && heat2 !== heat3,
        `the token scrubber (keyboard) shows token maps: ${scrub[2]}, heat sums ${heat2} / ${heat3}`);
  await page.screenshot({ path: path.join(outDir, 'page-token.png') });
  await page.$eval('#show-token', (e) => { e.checked = false; e.dispatchEvent(new Event('change')); });

  // click the first phrase with a mask: the mask layer holds exactly that mask's pixels
  const i = result.phrases.findIndex((p) => p.mask);
  check(i >= 0, `a phrase has a mask (${i})`);
  const mask = rleDecode(result.phrases[i].mask);
  const area = mask.bits.reduce((a, b) => a + b, 0);
  const before = await page.$eval('#mask-layer', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let k = 3; k < d.length; k += 4) n += d[k] > 0;
    return n;
  });
  await page.click(`#chips .chip[data-index="${i}"]`);
  await page.mouse.move(0, 0);  // hover leaves the chip: the selection alone decides
  const drawn = await page.$eval('#mask-layer', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const on = [];
    for (let k = 0; k < d.length / 4; ++k) on.push(d[4 * k + 3] > 0 ? 1 : 0);
    return on;
  });
  let same = 0, inMask = 0;
  drawn.forEach((v, k) => { same += v === mask.bits[k]; inMask += v; });
  check(before === 0 && area > 0 && inMask === area && same === drawn.length,
        `clicking '${result.phrases[i].text}' draws its mask: ${inMask} px drawn, ${area} px in result.json's RLE, ` +
        `${drawn.length - same} px differ (before the click: ${before} px)`);
  const heat = await page.$eval('#heat-layer', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let k = 3; k < d.length; k += 4) n += d[k] > 0;
    return n;
  });
  check(heat > 0, `the phrase's heat map is drawn (${heat} px)`);
  // click the phrase's point on the image: the list of phrases there names it
  const pt = result.phrases[i].point;
  const box = await (await page.$('#point-layer')).boundingBox();
  await page.mouse.click(box.x + (pt[0] + 0.5) * box.width / size[0], box.y + (pt[1] + 0.5) * box.height / size[1]);
  const hits = await page.$eval('#hits', (e) => e.textContent);
  check(mask.bits[pt[1] * mask.w + pt[0]] === 1 ? hits.includes(result.phrases[i].text) : true,
        `clicking pixel (${pt}) lists: ${hits}`);
  await page.screenshot({ path: path.join(outDir, 'page-phrase.png') });

  // edit the point: with 'edit the point' on, a click moves the selected phrase's point and POST /segment re-segments
  // on the cached embedding; the mask layer then holds what /segment gives for that point (asked here directly)
  const target = result.phrases.map((p) => p.point).reverse().find((q) => q && !mask.bits[q[1] * mask.w + q[0]]);
  check(!!target, `a phrase point outside the first mask to move to (${target})`);
  const maskPixels = () => page.$eval('#mask-layer', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const on = [];
    for (let k = 0; k < d.length / 4; ++k) on.push(d[4 * k + 3] > 0 ? 1 : 0);
    return on;
  });
  const health0 = await (await fetch(base + '/health')).json();
  await page.click('#edit-mode');
  await page.mouse.click(box.x + (target[0] + 0.5) * box.width / size[0], box.y + (target[1] + 0.5) * box.height / size[1]);
  await page.waitForFunction(() => document.body.dataset.segments === '1', { timeout: 20000 });
  await page.mouse.move(0, 0);
  const form = new FormData();
  form.append('image', new Blob([fs.readFileSync(scene)], { type: 'image/png' }), 'scene.png');
  form.append('points', JSON.stringify([[target[0], target[1]]]));
  const seg = await (await fetch(base + '/segment', { method: 'POST', body: form })).json();
  const want = rleDecode(seg.mask);
  const edited = await maskPixels();
  let diff = 0, changed = 0, n = 0;
  edited.forEach((v, k) => { diff += v !== want.bits[k]; changed += v !== mask.bits[k]; n += v; });
  check(n > 0 && diff === 0 && changed > 0,
        `moving the point to (${target}) re-segments: ${n} px drawn, ${diff} px differ from /segment's mask, ${changed} px changed`);
  // shift-click adds a point: the second request names the image by its hash (a cache hit, no image sent)
  const pt2 = [Math.min(size[0] - 1, target[0] + 2), target[1]];
  await page.keyboard.down('Shift');
  await page.mouse.click(box.x + (pt2[0] + 0.5) * box.width / size[0], box.y + (pt2[1] + 0.5) * box.height / size[1]);
  await page.keyboard.up('Shift');
  await page.waitForFunction(() => document.body.dataset.segments === '2', { timeout: 20000 });
  const health1 = await (await fetch(base + '/health')).json();
  const edits = await page.evaluate((i) => state.edits[i].points, i);
  check(edits.length === 2 && health1.segment_cache.hits >= health0.segment_cache.hits + 2 && health1.segment_cache.entries >= 1,
        `shift-click adds a point (${JSON.stringify(edits)}); cache ${JSON.stringify(health1.segment_cache)}`);
  await page.screenshot({ path: path.join(outDir, 'page-edit.png') });

  // a request the server refuses (empty prompt): its message is shown
  await page.$eval('#prompt', (e) => { e.value = ''; });
  await page.click('#run');
  await page.waitForFunction(() => document.getElementById('messages').childElementCount > 0, { timeout: 20000 });
  const err = await page.$eval('#messages', (e) => e.textContent);
  check(/server error 400: field 'prompt': empty/.test(err), `the server's error is shown: ${err}`);
  await page.screenshot({ path: path.join(outDir, 'page-error.png') });

  // the page that groundlmm demo writes next to its result, opened without a server: a read-only view
  const viewer = await browser.newPage();
  await viewer.setViewport({ width: 1280, height: 1000 });
  viewer.on('pageerror', (e) => pageErrors.push(String(e)));
  await viewer.goto('file://' + path.join(work, 'index.html'), { waitUntil: 'load' });
  await viewer.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
  await (await viewer.$('#open-result')).uploadFile(path.join(work, 'result.json'), scene);
  await viewer.waitForFunction(() => /^viewing/.test(document.getElementById('status').textContent), { timeout: 10000 });
  const saved = JSON.parse(fs.readFileSync(path.join(work, 'result.json'), 'utf8'));
  const vchips = await viewer.$$eval('#chips .chip', (els) => els.length);
  const vi = saved.phrases.findIndex((p) => p.mask);
  await viewer.click(`#chips .chip[data-index="${vi}"]`);
  await viewer.mouse.move(0, 0);
  const vmask = rleDecode(saved.phrases[vi].mask);
  const vdrawn = await viewer.$eval('#mask-layer', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const on = [];
    for (let k = 0; k < d.length / 4; ++k) on.push(d[4 * k + 3] > 0 ? 1 : 0);
    return on;
  });
  let vdiff = 0, von = 0;
  vdrawn.forEach((v, k) => { vdiff += v !== vmask.bits[k]; von += v; });
  const runDisabled = await viewer.$eval('#run', (b) => b.disabled);
  check(vchips === saved.phrases.length && von > 0 && vdiff === 0 && runDisabled,
        `the demo folder's index.html without a server shows result.json: ${vchips} chips, '${saved.phrases[vi].text}' ` +
        `mask ${von} px, ${vdiff} px differ; Ground disabled`);
  await viewer.screenshot({ path: path.join(outDir, 'page-offline.png') });

  check(offsite.length === 0, `no request leaves the server (${offsite.join(', ')})`);
  check(pageErrors.length === 0, `no script error (${pageErrors.join('; ')})`);
} finally {
  await browser.close();
  server.kill('SIGTERM');
  fs.rmSync(work, { recursive: true, force: true });
}
console.log(failures ? `${failures} check(s) failed` : 'all checks passed');
process.exit(failures ? 1 : 0);

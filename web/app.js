// The drum blender: four corner grooves, a pad blending their codes, a step grid, play and download.
// Models are directories export_model.py --format=magentajs writes (make web puts the shipped ones
// in web/models/); ?groove=URL and ?humanize=URL (or none) load others. ?selftest=1 checks the page's
// decodes against Python's (parity.json) and writes the result as JSON into #selftest.
'use strict';

const params = new URLSearchParams(location.search);
const GROOVE_URL = params.get('groove') || 'models/groove';
const HUMANIZE_URL = params.get('humanize') || 'models/humanize';
const STEPS = 64;
const STEPS_PER_QUARTER = 4;
const DRUMS = ['Kick', 'Snare', 'Closed hi-hat', 'Open hi-hat', 'Low tom', 'Mid tom',
               'High tom', 'Crash', 'Ride'];
// dataset/grooves (served as presets/): one of each style.
const PRESETS = ['rock_0_96bpm', 'funk_0_92bpm', 'hiphop_0_80bpm', 'bossa_0_124bpm',
                 'disco_0_116bpm', 'halftime_0_128bpm', 'onedrop_0_80bpm', 'pop_0_100bpm',
                 'shuffle_0_88bpm'];
const START_CORNERS = ['rock_0_96bpm', 'funk_0_92bpm', 'hiphop_0_80bpm', 'bossa_0_124bpm'];
const CORNER_NAMES = ['top left', 'top right', 'bottom left', 'bottom right'];
const tf = mm.tf;

const page = {
  vae: null, humanizer: null, prior: null, pitchClasses: null, pitchToDrum: null,
  corners: [null, null, null, null],  // {name, grid, z, qpm}
  puck: {x: 0.5, y: 0.5},
  current: null,  // {grid, velocities, offsets}: what the grid shows and Play plays
  editing: null,  // index of the corner the grid edits, or null: the blend
  player: null, playing: false, busy: Promise.resolve(),
};

// ---- grooves: grid[step][drum] booleans --------------------------------------------------------

function emptyGrid() {
  return Array.from({length: STEPS}, () => new Array(DRUMS.length).fill(false));
}

function gridOfSequence(quantized) {
  const grid = emptyGrid();
  for (const note of quantized.notes) {
    const drum = page.pitchToDrum.get(note.pitch);
    const step = note.quantizedStartStep;
    if (drum !== undefined && step >= 0 && step < STEPS) grid[step][drum] = true;
  }
  return grid;
}

function countHits(grid) {
  return grid.reduce((sum, step) => sum + step.filter(Boolean).length, 0);
}

// A quantized NoteSequence of the grid, as the encoder takes it.
function sequenceOfGrid(grid, qpm) {
  const notes = [];
  grid.forEach((step, s) => step.forEach((hit, d) => {
    if (hit) {
      notes.push({pitch: page.pitchClasses[d][0], velocity: 80, isDrum: true,
                  quantizedStartStep: s, quantizedEndStep: s + 1});
    }
  }));
  return mm.NoteSequence.create({
    notes, tempos: [{time: 0, qpm}], totalQuantizedSteps: STEPS,
    quantizationInfo: {stepsPerQuarter: STEPS_PER_QUARTER}});
}

// The groove as played: seconds at `qpm`, with the humanizer's velocities and offsets if any.
function playedSequence(groove, qpm) {
  const step = 60 / qpm / STEPS_PER_QUARTER;
  const notes = [];
  groove.grid.forEach((hits, s) => hits.forEach((hit, d) => {
    if (!hit) return;
    const velocity = groove.velocities ? groove.velocities[s][d] : 80;
    const shift = groove.offsets ? groove.offsets[s][d] : 0;  // in steps
    const start = Math.max(0, (s + shift) * step);
    notes.push({pitch: page.pitchClasses[d][0], velocity, isDrum: true,
                startTime: start, endTime: start + step});
  }));
  return mm.NoteSequence.create({notes, tempos: [{time: 0, qpm}], totalTime: STEPS * step});
}

// The first four bars of a MIDI file's drums, on the sixteenth grid.
function firstFourBars(sequence) {
  const quantized = mm.sequences.quantizeNoteSequence(sequence, STEPS_PER_QUARTER);
  const grid = gridOfSequence(quantized);
  if (countHits(grid) === 0) {
    throw new Error('no drum notes the model knows in its first four bars');
  }
  const qpm = sequence.tempos && sequence.tempos.length ? sequence.tempos[0].qpm : 120;
  return {grid, qpm};
}

// ---- the model -----------------------------------------------------------------------------------

async function encode(grid) {
  const z = await page.vae.encode([sequenceOfGrid(grid, 120)]);
  const [code] = await z.array();
  z.dispose();
  return code;
}

async function decode(code, temperature) {
  const z = tf.tensor2d([code]);
  const [sequence] = await page.vae.decode(z, temperature);
  z.dispose();
  return gridOfSequence(sequence);
}

function gaussian() {
  let u = 0;
  while (u === 0) u = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * Math.random());
}

// z from the latent prior (the mixture of Gaussians the export wrote), as generate.py draws it.
function drawCode() {
  const {weights, means, scaleTrils} = page.prior;
  let k = 0;
  for (let r = Math.random(); k < weights.length - 1 && r >= weights[k]; k++) r -= weights[k];
  const noise = means[k].map(gaussian);
  return means[k].map((mean, i) => mean + scaleTrils[k][i].reduce(
      (sum, l, j) => sum + l * noise[j], 0));
}

function blendWeights({x, y}) {
  return [(1 - x) * (1 - y), x * (1 - y), (1 - x) * y, x * y];
}

// The groove at the puck: a corner's own groove on its corner, else the decode of the
// bilinear blend of the corners' codes (greedy, so the same spot always plays the same).
async function blendAtPuck() {
  const weights = blendWeights(page.puck);
  const at = weights.findIndex(w => w > 0.999);
  if (at >= 0) return page.corners[at].grid;
  const code = page.corners[0].z.map(
      (_, i) => page.corners.reduce((sum, c, k) => sum + weights[k] * c.z[i], 0));
  return decode(code);
}

// Velocities and offsets at the groove's own hits, from the humanizer's decode of it.
async function humanize(grid) {
  const input = sequenceOfGrid(grid, 120);
  const z = await page.humanizer.encode([input]);
  const out = await page.humanizer.decodeTensors(z);
  const [values] = await out.array();
  z.dispose();
  out.dispose();
  // The humanizer's drum classes (Groove's Roland mapping) hold each of our drums' pitches.
  const classOf = page.pitchClasses.map(
      pitches => page.humanizer.dataConverter.pitchToClass.get(pitches[0]));
  const n = classOf.length;
  const velocities = values.map(row => classOf.map(
      c => Math.min(127, Math.max(1, Math.round(row[n + c] * 127)))));
  const offsets = values.map(row => classOf.map(c => -Math.max(-1, Math.min(1, row[2 * n + c])) / 2));
  return {velocities, offsets};
}

// ---- the page --------------------------------------------------------------------------------------

function status(text, isError) {
  const element = document.getElementById('status');
  element.textContent = text;
  element.className = isError ? 'error' : '';
}

function serially(job) {  // one model call at a time; a failure shows and leaves the page usable
  page.busy = page.busy.then(job).catch(e => {
    console.warn(e);
    status(String(e.message || e), true);
  });
  return page.busy;
}

function buildGrid() {
  const table = document.getElementById('grid');
  DRUMS.forEach((name, d) => {
    const row = table.insertRow();
    const label = row.insertCell();
    label.className = 'name';
    label.textContent = name;
    for (let s = 0; s < STEPS; s++) {
      const cell = row.insertCell();
      cell.dataset.step = s;
      cell.dataset.drum = d;
      if (s % 16 === 0) cell.className = 'bar';
      else if (s % 4 === 0) cell.className = 'beat';
      cell.addEventListener('click', () => toggleCell(s, d));
    }
  });
}

function showGrid() {
  const groove = page.current;
  const table = document.getElementById('grid');
  for (let d = 0; d < DRUMS.length; d++) {
    for (let s = 0; s < STEPS; s++) {
      const cell = table.rows[d].cells[s + 1];
      const hit = groove.grid[s][d];
      cell.classList.toggle('on', hit);
      cell.style.opacity = hit && groove.velocities ?
          (0.25 + 0.75 * groove.velocities[s][d] / 127).toFixed(2) : '';
    }
  }
  document.getElementById('grid-title').textContent = page.editing === null ?
      `The blend (${countHits(groove.grid)} hits)` :
      `Editing ${CORNER_NAMES[page.editing]}: ${page.corners[page.editing].name}`;
}

function drawPad() {
  const canvas = document.getElementById('pad');
  const g = canvas.getContext('2d');
  const {width, height} = canvas;
  const colours = [[224, 112, 0], [43, 108, 176], [0, 150, 110], [160, 60, 160]];
  const image = g.createImageData(width, height);
  for (let py = 0; py < height; py++) {
    for (let px = 0; px < width; px++) {
      const w = blendWeights({x: px / (width - 1), y: py / (height - 1)});
      for (let c = 0; c < 3; c++) {
        image.data[4 * (py * width + px) + c] =
            255 - 0.35 * w.reduce((sum, wk, k) => sum + wk * (255 - colours[k][c]), 0);
      }
      image.data[4 * (py * width + px) + 3] = 255;
    }
  }
  g.putImageData(image, 0, 0);
  g.beginPath();
  g.arc(page.puck.x * (width - 1), page.puck.y * (height - 1), 10, 0, 2 * Math.PI);
  g.fillStyle = '#222';
  g.fill();
}

function buildCorners() {
  const box = document.getElementById('corners');
  CORNER_NAMES.forEach((where, k) => {
    const div = document.createElement('div');
    div.className = 'corner';
    div.id = `corner-${k}`;
    div.innerHTML = `<div class="name"></div>
      <select aria-label="${where} preset"><option value="">preset ...</option>${
        PRESETS.map(p => `<option>${p}</option>`).join('')}</select>
      <button class="new">new</button> <button class="edit">edit</button>`;
    div.querySelector('select').addEventListener('change', e => {
      if (e.target.value) serially(() => setPreset(k, e.target.value));
      e.target.value = '';
    });
    div.querySelector('.new').addEventListener('click', () => serially(() => setSample(k)));
    div.querySelector('.edit').addEventListener('click', () => serially(() => toggleEditing(k)));
    div.addEventListener('dragover', e => { e.preventDefault(); div.classList.add('dragover'); });
    div.addEventListener('dragleave', () => div.classList.remove('dragover'));
    div.addEventListener('drop', e => {
      e.preventDefault();
      div.classList.remove('dragover');
      const file = e.dataTransfer.files[0];
      if (file) serially(() => setFile(k, file));
    });
    box.appendChild(div);
  });
}

function showCorners() {
  page.corners.forEach((corner, k) => {
    const div = document.getElementById(`corner-${k}`);
    div.querySelector('.name').textContent = corner ? corner.name : '';
    div.classList.toggle('editing', page.editing === k);
    div.querySelector('.edit').textContent = page.editing === k ? 'done' : 'edit';
  });
}

async function setCorner(k, name, grid, qpm) {
  page.corners[k] = {name, grid, qpm, z: await encode(grid)};
  showCorners();
  await refresh();
}

async function setPreset(k, name) {
  const sequence = await mm.urlToNoteSequence(`presets/${name}.mid`);
  const {grid, qpm} = firstFourBars(sequence);
  await setCorner(k, name, grid, qpm);
}

async function setFile(k, file) {
  let sequence;
  try {
    sequence = await mm.blobToNoteSequence(file);
  } catch (e) {
    throw new Error(`${file.name}: not a MIDI file this page can read (${e.message || e})`);
  }
  let bars;
  try {
    bars = firstFourBars(sequence);
  } catch (e) {
    throw new Error(`${file.name}: ${e.message}`);
  }
  await setCorner(k, file.name, bars.grid, bars.qpm);
  status(`${file.name} is the ${CORNER_NAMES[k]} corner`);
}

async function setSample(k) {
  const temperature = Number(document.getElementById('temperature').value);
  const grid = await decode(drawCode(), temperature);
  await setCorner(k, `sample (temperature ${temperature})`, grid, 120);
}

async function toggleEditing(k) {
  page.editing = page.editing === k ? null : k;
  showCorners();
  await refresh();
}

function toggleCell(s, d) {
  if (page.editing === null) {
    status('Click "edit" on a corner to change its groove; the blend follows.');
    return;
  }
  const corner = page.corners[page.editing];
  corner.grid[s][d] = !corner.grid[s][d];
  serially(async () => {
    corner.z = await encode(corner.grid);
    await refresh();
  });
}

// Recomputes what the grid shows and Play plays.
async function refresh() {
  if (page.corners.some(c => !c)) return;
  const grid = page.editing === null ? await blendAtPuck() : page.corners[page.editing].grid;
  const humanized = page.humanizer && document.getElementById('humanize').checked ?
      await humanize(grid) : {};
  page.current = {grid, ...humanized};
  showGrid();
  if (page.playing) restartPlayback();
}

function movePuck(event) {
  const rect = event.target.getBoundingClientRect();
  const snap = v => (v < 0.03 ? 0 : v > 0.97 ? 1 : v);  // edges snap: corners are easy to hit
  page.puck = {x: snap((event.clientX - rect.left) / rect.width),
               y: snap((event.clientY - rect.top) / rect.height)};
  drawPad();
  page.pending = true;
  serially(async () => {  // a drag sends many moves: only the latest is decoded
    if (!page.pending) return;
    page.pending = false;
    page.editing = null;
    showCorners();
    await refresh();
  });
}

function tempo() {
  return Math.min(240, Math.max(40, Number(document.getElementById('tempo').value) || 100));
}

function showPlayhead(step) {
  const table = document.getElementById('grid');
  for (const row of table.rows) {
    for (let s = 0; s < STEPS; s++) row.cells[s + 1].classList.toggle('playhead', s === step);
  }
}

function restartPlayback() {
  page.player.stop();
  const sequence = playedSequence(page.current, tempo());
  const loop = () => page.player.start(sequence).then(() => {
    if (page.playing && page.current) restartPlayback();
  });
  loop();
}

async function togglePlay() {
  const button = document.getElementById('play');
  if (page.playing) {
    page.playing = false;
    page.player.stop();
    showPlayhead(-1);
    button.textContent = 'Play';
    return;
  }
  await mm.Player.tone.context.resume();  // audio starts only after a user gesture
  page.playing = true;
  button.textContent = 'Stop';
  restartPlayback();
}

function download() {
  const sequence = playedSequence(page.current, tempo());
  const bytes = mm.sequenceProtoToMidi(sequence);
  const link = document.createElement('a');
  link.href = URL.createObjectURL(new Blob([bytes], {type: 'audio/midi'}));
  link.download = page.editing === null ? 'blend.mid' :
      `${page.corners[page.editing].name.replace(/\.midi?$/i, '')}.mid`;
  document.body.appendChild(link);
  link.click();
  link.remove();
}

async function fetchJson(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status} ${response.statusText}`);
  return response.json();
}

async function loadModels() {
  const config = await fetchJson(`${GROOVE_URL}/config.json`);
  page.pitchClasses = config.dataConverter.args.pitchClasses;
  page.pitchToDrum = new Map();
  page.pitchClasses.forEach((pitches, d) => pitches.forEach(p => page.pitchToDrum.set(p, d)));
  page.prior = await fetchJson(`${GROOVE_URL}/latent_prior.json`);
  page.vae = new mm.MusicVAE(GROOVE_URL, config);
  await page.vae.initialize();
  if (HUMANIZE_URL !== 'none') {
    page.humanizer = new mm.MusicVAE(HUMANIZE_URL);
    await page.humanizer.initialize();
  } else {
    document.getElementById('humanize').parentElement.hidden = true;
  }
}

// ---- ?selftest=1 -----------------------------------------------------------------------------------

function argmaxLabels(steps) {
  return steps.map(row => row.indexOf(Math.max(...row)));
}

function maxAbsDifference(a, b) {
  return Math.max(...a.flat(2).map((v, i) => Math.abs(v - b.flat(2)[i])));
}

async function parityOf(model, url, grooveModel) {
  const parity = await fetchJson(`${url}/parity.json`);
  const z = tf.tensor2d(parity.z);
  const out = await model.decodeTensors(z);
  const decoded = await out.array();
  z.dispose();
  out.dispose();
  let equal = 0, total = 0, valueError = 0;
  decoded.forEach((steps, i) => {
    const python = parity.decoded[i];
    if (grooveModel) {  // one drum-set label per step
      argmaxLabels(steps).forEach((label, s) => { equal += label === python[s]; total++; });
    } else {  // hits, then velocities and offsets, per drum and step
      const n = DRUMS.length;
      steps.forEach((row, s) => {
        for (let d = 0; d < n; d++) {
          equal += row[d] === python[s][d];
          total++;
          if (row[d]) {
            valueError = Math.max(valueError, Math.abs(row[n + d] - python[s][n + d]),
                                  Math.abs(row[2 * n + d] - python[s][2 * n + d]));
          }
        }
      });
    }
  });
  const result = {parity: equal / total, valueError, quantization: parity.quantization};
  if (parity.inputs) {
    const inputs = tf.tensor3d(parity.inputs);
    const mu = await model.encodeTensors(inputs);
    result.muError = maxAbsDifference(await mu.array(), parity.mu);
    inputs.dispose();
    mu.dispose();
  }
  return result;
}

async function selftest() {
  const report = {ok: false, parity: null, samples: [], errors: []};
  try {
    const groove = await parityOf(page.vae, GROOVE_URL, true);
    report.parity = groove.parity;
    report.muError = groove.muError;
    if (page.humanizer) {
      const h = await parityOf(page.humanizer, HUMANIZE_URL, false);
      report.humanizer = {hitParity: h.parity, valueError: h.valueError, muError: h.muError};
    }
    for (let i = 0; i < 4; i++) report.samples.push(countHits(await decode(drawCode(), 0.5)));
    // uint8 weights (export_model.py --quantize=uint8) round every weight: codes move by a few
    // hundredths and a rare near-tie step flips (README: In the browser).
    const uint8 = groove.quantization === 'uint8';
    const [minParity, tolerance] = uint8 ? [0.97, 0.1] : [0.99, 1e-3];
    if (report.parity < minParity) report.errors.push(`decodes match Python on ${report.parity} of steps`);
    if (groove.muError > tolerance) report.errors.push(`codes differ from Python by ${groove.muError}`);
    if (report.humanizer && report.humanizer.hitParity < 0.99) {
      report.errors.push(`humanizer hits match Python on ${report.humanizer.hitParity}`);
    }
    if (report.humanizer && report.humanizer.valueError > 0.01) {
      report.errors.push(`humanizer velocities/offsets differ by ${report.humanizer.valueError}`);
    }
    if (report.samples.some(n => n === 0)) report.errors.push('a sample is silent');
  } catch (e) {
    report.errors.push(String(e.message || e));
  }
  report.ok = report.errors.length === 0;
  const element = document.getElementById('selftest');
  element.textContent = JSON.stringify(report);
  element.hidden = false;
}

// ---- start -----------------------------------------------------------------------------------------

async function main() {
  buildGrid();
  buildCorners();
  drawPad();
  try {
    await loadModels();
  } catch (e) {
    status(`could not load the model (${e.message || e}): run make web, or see README: In the browser`,
           true);
    if (params.get('selftest')) {
      document.getElementById('selftest').textContent =
          JSON.stringify({ok: false, parity: null, samples: [], errors: [String(e.message || e)]});
    }
    return;
  }
  page.player = new mm.Player(false, {
    run: note => showPlayhead(Math.floor(note.startTime / (60 / tempo() / STEPS_PER_QUARTER) + 0.5)),
    stop: () => {},
  });
  const pad = document.getElementById('pad');
  pad.addEventListener('pointerdown', e => { pad.setPointerCapture(e.pointerId); movePuck(e); });
  pad.addEventListener('pointermove', e => { if (e.buttons) movePuck(e); });
  document.getElementById('play').addEventListener('click', togglePlay);
  document.getElementById('download').addEventListener('click', download);
  document.getElementById('humanize').addEventListener('change', () => serially(refresh));
  document.getElementById('tempo').addEventListener('change', () => {
    if (page.playing) restartPlayback();
  });
  document.getElementById('temperature').addEventListener('input', e => {
    document.getElementById('temperature-value').textContent = e.target.value;
  });
  for (let k = 0; k < 4; k++) await serially(() => setPreset(k, START_CORNERS[k]));
  document.getElementById('tempo').value = Math.round(page.corners[0].qpm);
  document.getElementById('play').disabled = false;
  document.getElementById('download').disabled = false;
  status(`${GROOVE_URL} loaded${page.humanizer ? `, humanizer ${HUMANIZE_URL}` : ''}: ` +
         'drag the dot to blend the corners');
  document.body.dataset.ready = 'true';
  if (params.get('selftest')) await selftest();
}

main();

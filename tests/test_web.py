"""The page in web/ in headless Chromium, on the shipped models exported for Magenta.js.

Needs Chromium (/usr/bin/chromium, or $CHROMIUM) and Playwright, which `make test`
installs, and web/node_modules (`npm ci` in web/, which `make test` runs too);
without them these tests are skipped with one line, except in CI ($CI set),
where they fail.
"""
import base64
import contextlib
import functools
import http.server
import json
import os
import pathlib
import shutil
import threading

import pytest

from conftest import REPO, run_script

CHROMIUM = os.environ.get('CHROMIUM', '/usr/bin/chromium')
GROOVE_MODEL = REPO / 'models' / 'groove_4bar_hier'
HUMANIZE_MODEL = REPO / 'models' / 'groove_4bar_humanize'
PAGE_FILES = ('index.html', 'app.js')


def _missing():
  try:
    import playwright.sync_api  # pylint: disable=g-import-not-at-top,unused-import
  except ImportError:
    return 'Playwright is not installed (pip install -r requirements-web.txt)'
  if not os.access(CHROMIUM, os.X_OK):
    return f'no Chromium at {CHROMIUM} (apt-get install chromium, or set CHROMIUM)'
  if not (REPO / 'web' / 'node_modules' / '@magenta' / 'music').is_dir():
    return 'web/node_modules is not installed (cd web && npm ci)'
  return None


@pytest.fixture(scope='module')
def site(tmp_path_factory):
  """A served copy of web/ whose models/ are the shipped models, exported here."""
  missing = _missing()
  if missing:
    if os.environ.get('CI'):
      pytest.fail(missing, pytrace=False)
    pytest.skip(missing)
  root = tmp_path_factory.mktemp('site')
  for name in PAGE_FILES:
    shutil.copy(REPO / 'web' / name, root)
  (root / 'node_modules').symlink_to(REPO / 'web' / 'node_modules')
  (root / 'presets').symlink_to(REPO / 'dataset' / 'grooves')
  (root / 'models').mkdir()
  for model, name in ((GROOVE_MODEL, 'groove'), (HUMANIZE_MODEL, 'humanize')):
    result = run_script('export_model.py', f'--run_dir={model}', '--format=magentajs',
                        f'--output_dir={root / "models" / name}')
    assert result.returncode == 0, result.stderr[-2000:]
  handler = functools.partial(_QuietHandler, directory=str(root))
  server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
  threading.Thread(target=server.serve_forever, daemon=True).start()
  yield root, f'http://127.0.0.1:{server.server_address[1]}/'
  server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
  def log_message(self, *args):
    pass


@pytest.fixture(scope='module')
def browser(site):
  from playwright.sync_api import sync_playwright  # pylint: disable=g-import-not-at-top
  with sync_playwright() as playwright:
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=['--no-sandbox'])
    yield chromium
    chromium.close()


class Page:
  """A loaded page with what it logged and requested."""

  def __init__(self, browser, url):
    self.page = browser.new_page(accept_downloads=True, viewport={'width': 1400, 'height': 1000})
    self.errors, self.requests = [], []
    self.page.on('console', lambda m: m.type == 'error' and self.errors.append(m.text))
    self.page.on('pageerror', lambda e: self.errors.append(str(e)))
    self.page.on('request', lambda r: self.requests.append(r.url))
    self.page.goto(url)
    self.page.wait_for_selector('body[data-ready="true"]', timeout=120_000)

  def grid(self):
    """The grid's hits as [drum][step] booleans."""
    return self.page.eval_on_selector_all(
        '#grid tr', 'rows => rows.map(r => [...r.cells].slice(1).map('
        'c => c.classList.contains("on")))')

  def settled(self):
    self.page.evaluate('() => page.busy')

  def click_pad(self, x, y):
    box = self.page.locator('#pad').bounding_box()
    self.page.mouse.click(box['x'] + x * box['width'], box['y'] + y * box['height'])
    self.settled()


@pytest.fixture(scope='module')
def blender(browser, site):
  page = Page(browser, site[1])
  yield page
  page.page.close()


def test_selftest_matches_python_and_fetches_only_from_its_host(browser, site):
  page = Page(browser, site[1] + '?selftest=1')
  page.page.wait_for_function('document.getElementById("selftest").textContent.length > 0',
                              timeout=120_000)
  report = json.loads(page.page.inner_text('#selftest'))
  assert report['ok'], report
  assert report['parity'] >= 0.99
  assert report['humanizer']['hitParity'] >= 0.99
  assert all(n > 0 for n in report['samples']) and len(report['samples']) == 4
  assert not page.errors
  off_host = [u for u in page.requests if not u.startswith((site[1], 'blob:', 'data:'))]
  assert not off_host


def test_pad_moves_change_the_grid_and_a_corner_plays_its_own_groove(blender):
  from conftest import hits  # pylint: disable=g-import-not-at-top
  blends = []
  for x, y in ((0.5, 0.5), (0.2, 0.8), (0.8, 0.2)):
    blender.click_pad(x, y)
    blends.append(blender.grid())
  assert blends[0] != blends[1] and blends[0] != blends[2]
  assert all(any(map(any, grid)) for grid in blends)  # no silent blend
  blender.click_pad(0.01, 0.01)
  rock = hits(REPO / 'dataset' / 'grooves' / 'rock_0_96bpm.mid')
  assert blender.grid() == rock.tolist()
  assert not blender.errors


def test_editing_a_corner_changes_it_on_the_grid(blender):
  blender.page.click('#corner-1 .edit')
  blender.settled()
  before = blender.grid()
  blender.page.click('#grid tr:nth-child(8) td:nth-child(2)')  # crash on the first step
  blender.settled()
  after = blender.grid()
  assert after[7][0] != before[7][0]
  assert [row[1:] for row in after] == [row[1:] for row in before]
  blender.page.click('#corner-1 .edit')  # done: the grid shows the blend again
  blender.settled()
  assert 'The blend' in blender.page.inner_text('#grid-title')


def _drop(page, selector, name, data):
  transfer = page.evaluate_handle(
      '([name, b64]) => { const t = new DataTransfer(); const bytes = Uint8Array.from('
      'atob(b64), c => c.charCodeAt(0)); t.items.add(new File([bytes], name)); return t; }',
      [name, base64.b64encode(data).decode()])
  page.dispatch_event(selector, 'drop', {'dataTransfer': transfer})


def test_a_dropped_midi_file_becomes_a_corner_and_a_bad_one_is_named(blender, tmp_path):
  from conftest import hits, write_bad_midi_files  # pylint: disable=g-import-not-at-top
  funk = REPO / 'dataset' / 'grooves' / 'funk_3_92bpm.mid'
  _drop(blender.page, '#corner-2', 'my_groove.mid', funk.read_bytes())
  blender.settled()
  assert blender.page.inner_text('#corner-2 .name') == 'my_groove.mid'
  blender.click_pad(0.01, 0.99)
  assert blender.grid() == hits(funk).tolist()
  write_bad_midi_files(tmp_path)
  _drop(blender.page, '#corner-3', 'text.mid', (tmp_path / 'text.mid').read_bytes())
  blender.settled()
  assert blender.page.inner_text('#status').startswith('text.mid: ')
  assert blender.page.get_attribute('#status', 'class') == 'error'
  assert blender.page.inner_text('#corner-3 .name') == 'bossa_0_124bpm'  # kept


def test_download_is_a_four_bar_drum_midi_of_the_grid_humanized(blender, tmp_path):
  import note_seq  # pylint: disable=g-import-not-at-top
  from conftest import hits  # pylint: disable=g-import-not-at-top
  blender.click_pad(0.4, 0.6)
  blender.page.fill('#tempo', '90')

  def download(name):
    with blender.page.expect_download() as started:
      blender.page.click('#download')
    started.value.save_as(tmp_path / name)
    return tmp_path / name

  on_grid = download('grid.mid')
  assert hits(on_grid).tolist() == blender.grid()
  blender.page.check('#humanize')
  blender.settled()
  sequence = note_seq.midi_file_to_note_sequence(str(download('humanized.mid')))
  assert sequence.tempos[0].qpm == pytest.approx(90, rel=1e-4)
  assert sequence.notes and all(n.is_drum for n in sequence.notes)
  assert len(sequence.notes) == hits(on_grid).sum()
  assert max(n.start_time for n in sequence.notes) < 16 * 60 / 90
  assert len({n.velocity for n in sequence.notes}) > 5  # humanized: not one velocity
  step = 60 / 90 / 4
  assert any(abs(n.start_time / step - round(n.start_time / step)) > 0.05
             for n in sequence.notes)  # and not on the grid
  blender.page.click('#play')
  assert blender.page.inner_text('#play') == 'Stop'
  blender.page.click('#play')
  assert not blender.errors

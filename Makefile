# make demo      -- set up, then sample, interpolate, vary and humanize 4-bar grooves
#                   with the models shipped in models/, every groove played with a
#                   drummer's velocities and timing (MIDI, WAV and PNG into samples/)
# make train     -- set up, then train your own small model on dataset/grooves
#                   briefly and sample from it (shows the whole flow)
# make notebook  -- set up, then open 4bar_drums.ipynb in Jupyter Notebook with
#                   the project's environment as its kernel (installs Jupyter
#                   from requirements-notebook.txt the first time)
# make beam      -- set up, then add Apache Beam (make_tfrecord.py --runner=...)
# make web       -- set up, export the shipped models for Magenta.js into web/models,
#                   install the page's pinned packages (npm ci) and serve web/ on
#                   http://127.0.0.1:$(PORT) (default 8000)
# make test      -- set up, add Apache Beam and the browser tests' Chromium and
#                   Playwright, then run the test suite (two test files at a time,
#                   the slowest first: most of the time goes to single-threaded TF
#                   graph building; tests/conftest.py lists the slowest files)
PY := .venv/bin/python
INTERPOLATE_FROM := dataset/grooves/rock_0_96bpm.mid
INTERPOLATE_TO   := dataset/grooves/funk_0_92bpm.mid
# A groove to humanize: only where its hits fall counts (put on the grid, played anew).
HUMANIZE         := dataset/grooves/rock_0_96bpm.mid
# The CPU config trained briefly, so `make train` finishes in minutes; the
# shipped model trained 13,738 steps of it on Groove (see TRAINING.md).
TRAIN_STEPS := 300
# The models the page in web/ loads (Magenta.js builds this structure; README: In the browser).
WEB_GROOVE_MODEL   := models/groove_4bar_hier
WEB_HUMANIZE_MODEL := models/groove_4bar_humanize
PORT ?= 8000

.PHONY: setup demo train notebook beam web web-deps browser test
setup:
	bash setup.sh

demo: setup
	$(PY) generate.py --mode=sample --num_outputs=5 --output_dir=samples --render_wav --plot --humanize
	$(PY) generate.py --mode=interpolate --num_outputs=5 --output_dir=samples --render_wav --plot \
	  --humanize --input_midi_1=$(INTERPOLATE_FROM) --input_midi_2=$(INTERPOLATE_TO)
	$(PY) generate.py --mode=similar --num_outputs=3 --similarity=0.7 --output_dir=samples \
	  --render_wav --plot --humanize --input_midi_1=$(INTERPOLATE_FROM)
	$(PY) generate.py --mode=humanize --output_dir=samples --render_wav --plot \
	  --input_midi_1=$(HUMANIZE)
	@echo "Train your own: make train (a quick run on dataset/grooves), or see README: Train"

train: setup
	$(PY) make_tfrecord.py --input_dir=dataset/grooves --output_file=data/default.tfrecord
	$(PY) train.py --config=hierdec-drums_4bar_cpu --run_dir=runs/demo \
	  --examples_path=data/default.tfrecord --num_steps=$(TRAIN_STEPS)
	$(PY) generate.py --run_dir=runs/demo --mode=sample --num_outputs=5 --output_dir=runs/demo/samples --plot

notebook: setup
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-notebook.txt
	.venv/bin/jupyter notebook 4bar_drums.ipynb $$([ "$$(id -u)" = 0 ] && echo --allow-root)

beam: setup
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-beam.txt

web: setup web-deps web/models/groove/config.json web/models/humanize/config.json
	@echo "open http://127.0.0.1:$(PORT)/ (Ctrl-C stops the server)"
	$(PY) -m http.server $(PORT) --bind 127.0.0.1 --directory web

web-deps: web/node_modules/.installed
web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Exported again whenever the shipped model's files change.
web/models/groove/config.json: $(wildcard $(WEB_GROOVE_MODEL)/train/* $(WEB_GROOVE_MODEL)/*.npz)
	rm -rf web/models/groove
	$(PY) export_model.py --run_dir=$(WEB_GROOVE_MODEL) --format=magentajs --output_dir=web/models/groove
web/models/humanize/config.json: $(wildcard $(WEB_HUMANIZE_MODEL)/train/*)
	rm -rf web/models/humanize
	$(PY) export_model.py --run_dir=$(WEB_HUMANIZE_MODEL) --format=magentajs --output_dir=web/models/humanize

# Chromium (Debian's, by apt, when root) and Playwright for tests/test_web.py.
browser: setup web-deps
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-web.txt
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "make browser: chromium not installed (not root, or no apt): the browser tests will be skipped" >&2

test: beam browser
	$(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder tests

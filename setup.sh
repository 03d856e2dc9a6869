#!/usr/bin/env bash
# Sets up the toolkit: the FluidSynth library (for WAV rendering) and a virtual
# environment in .venv with the pinned, tested packages. Safe to run again.
# PYTHON=/path/to/python3.11 bash setup.sh picks the interpreter.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "setup.sh: warning: tested on Python 3.11; $("$PYTHON" --version) may not work" >&2
fi

if ! ldconfig -p 2>/dev/null | grep -q libfluidsynth; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing libfluidsynth3 (for WAV rendering) ..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libfluidsynth3 >/dev/null
  else
    echo "setup.sh: warning: libfluidsynth not found; WAV rendering needs it:" \
         "'sudo apt-get install libfluidsynth3' (Debian/Ubuntu) or" \
         "'brew install fluid-synth' (macOS). Everything else works without it." >&2
  fi
fi

stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ requirements.txt -nt "$stamp" ] || [ requirements-nodeps.txt -nt "$stamp" ]; then
  # --clear rebuilds an environment that an interrupted set-up left broken.
  if [ -x .venv/bin/pip ]; then "$PYTHON" -m venv .venv; else "$PYTHON" -m venv --clear .venv; fi
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
  # Magenta's own metadata pins packages that cannot install on Python >= 3.9.
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -r requirements-nodeps.txt
  touch "$stamp"
fi
# The checkout on the environment's import path, as an editable install puts it:
# scripts, tests, benchmarks and the notebook import drumvae and configs from anywhere.
echo "$PWD" > "$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/drumvae-checkout.pth"
echo "setup done: .venv is ready"

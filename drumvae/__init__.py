"""Internal helpers that keep the top-level scripts thin.

Each module has one concern:
  cli            -- one-line errors, --verbose, exit codes for every script
  tf_env         -- environment TensorFlow/Magenta/pyfluidsynth need before import,
                    and malloc settings that keep freed memory for reuse
  magenta_compat -- the places where Magenta must be worked around on a current TF
  fast_lstm      -- faster LSTMs on the CPU (MatMul cells, hoisted encoder MatMuls)
  midi           -- MIDI files -> NoteSequences
  run_dir        -- what train.py records in a run directory for later commands
"""
from drumvae import tf_env  # pylint: disable=unused-import  # Before any library it prepares.

"""The library under the top-level scripts; importing it changes nothing.

Job modules (a script's one call; each takes an Options object):
  training       -- train.py: train (Magenta's loop), evaluate once, evaluate continuously
  generation     -- generate.py: sample, interpolate or vary, write MIDI/WAV/PNG
  conversion     -- make_tfrecord.py: MIDI directory -> TFRecord of NoteSequences
  beam_conversion -- make_tfrecord.py --runner=...: the same on Apache Beam
  comparison     -- compare_runs.py: eval metrics table, loss curves
  render         -- render_midi.py: WAV and PNG files beside MIDI files
Shared pieces:
  models         -- which model, from where: configs (configs.py registers them),
                    run dirs' recorded models, the shipped models per mode, loading
  runtime        -- every environment setting and patch of Magenta/TF/mido, applied by setup()
  cli            -- one-line errors, --verbose, exit codes, options from flags
  run_dirs       -- what train.py records in a run directory, and its lock
  distributed    -- train.py with TF_CONFIG: parameter server, workers
  midi_corpus    -- finding a corpus's MIDI files, splits and output names
  dataset, evaluation, refinement, latent_prior, groove_metrics, fast_lstm, hooks,
  midi, audio, drum_grid, files, export
"""

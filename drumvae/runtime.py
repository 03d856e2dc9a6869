"""Every change this toolkit makes to its environment and to Magenta, TensorFlow and mido.

Nothing here happens on import. Scripts call `setup()` first thing in `main()`,
then, after their cheap checks, `load_tensorflow()`; the notebook and the tests
do the same. Each change says why, and each patch
of another package's internals names the version it was written against
(`WRITTEN_AGAINST`): on another version a speed-only patch is left out and a
compatibility patch is applied with a warning, so an upgrade shows up at once.

  environment (before TensorFlow loads)
    TF_USE_LEGACY_KERAS=1    Magenta's tf.compat.v1 layers need Keras 2 (tf-keras)
    TF_ENABLE_ONEDNN_OPTS=1  oneDNN kernels on every CPU (faster LSTM training)
    TF_CPP_MIN_LOG_LEVEL=3   TensorFlow's C++ log noise hidden, unless --verbose
    TF_NUM_INTRAOP_THREADS   training only (use_training_threads): each op on
                             half the cores, two ops side by side
    malloc                   freed memory kept for reuse, not zero-filled anew
    pyfluidsynth             imported once, quietly (it prints on import)
    note_seq.notebook_utils, sklearn.metrics
                             start-up: loaded on first use, not on import
  patches
    mido midifiles.Message          speed: bytes checked once per message
    LSTMBlockCell.call              speed: MatMul cells, on oneDNN, their
                                    products in --precision (bfloat16, float32)
    BidirectionalLstmEncoder.encode speed: input products hoisted (fast_lstm)
    BaseLstmDecoder.build           speed: output layer's product in --precision
    HierarchicalLstmDecoder.build   its conductor without dropout outside
                                    training (Magenta keeps it on at sampling)
    BaseLstmDecoder._sampling_probability
                                    scoped to refinement's loss: teacher forcing
                                    whatever the config's sampling schedule
    tf.Graph, seq2seq.dynamic_decode
                                    scoped to loading a model with --seed: its
                                    graph seeded, its decode loop in order, so
                                    sampling repeats
  settings
    grappler off                    scoped to loading a model for generate.py:
                                    faster start, faster few-groove runs
    Dataset.unbatch                 scoped to Magenta's data.get_dataset: TF >= 2.15
                                    segfaults on DrumsConverter's empty controls
    tf_slim.training.train          scoped to Magenta's train() (magenta_training_loop):
                                    our hooks, summary and checkpoint intervals,
                                    a 5 s stop grace (a stopped sync cluster),
                                    checkpoint state with relative paths, and
                                    no graph.pbtxt or .meta files
    SyncReplicasOptimizer.get_chief_queue_runner
                                    scoped likewise: a stopped sync chief's
                                    queue thread ends without a traceback
"""
import contextlib
import ctypes
import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import io
import logging
import os
import sys
import types
import warnings

from drumvae import cli

WRITTEN_AGAINST = {
    'magenta': '2.1.4',
    'mido': '1.3.3',
    'note-seq': '0.0.5',
    'tensorflow': '2.21',
    'tf-slim': '1.1.0',
}
TENSORFLOW_ENVIRONMENT = {
    # Magenta builds its models with tf.compat.v1 layers, which need Keras 2
    # (the tf-keras package); TensorFlow >= 2.16 defaults to Keras 3.
    'TF_USE_LEGACY_KERAS': '1',
    # Whether TensorFlow turns oneDNN on by itself depends on the CPU; without
    # it the Eigen MatMul of each LSTM backward step is much slower. Same math,
    # another summation order (README: Speed; BENCHMARKS.md).
    'TF_ENABLE_ONEDNN_OPTS': '1',
    # CUDA probing and oneDNN notes, some logged as errors ("oneDNN supports
    # DT_BOOL only on platforms with AVX-512"); real failures still reach
    # Python as exceptions. --verbose shows them.
    'TF_CPP_MIN_LOG_LEVEL': '3',
}


def installed_version(package):
  """The installed version of `package`, or None."""
  names = ['tensorflow-cpu', 'tensorflow'] if package == 'tensorflow' else [package]
  for name in names:
    try:
      return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
      pass
  return None


def written_for_installed(package, what, speed_only):
  """Whether `package` is the version a patch of it was written against.

  If not, one warning line says what happens instead; returns False.
  """
  found = installed_version(package)
  if found and found.startswith(WRITTEN_AGAINST[package]):
    return True
  consequence = 'left out (speed only)' if speed_only else 'applied anyway'
  cli.warning_line(f'{what} was written for {package} {WRITTEN_AGAINST[package]}'
                   f', found {found}: {consequence}')
  return False


def setup(verbose=False):
  """The environment, the patch of mido, imports deferred; cheap (no TensorFlow). Idempotent."""
  set_environment(verbose)
  keep_freed_memory_for_reuse()
  import_fluidsynth_quietly()
  read_midi_bytes_once()
  load_on_first_use(DEFERRED_MODULES)


# Modules Magenta's dependencies import on import that this toolkit never calls:
# note_seq's notebook helpers (they import bokeh and IPython; note_seq imports
# these two names from them) and the scikit-learn metrics tf_slim keeps for its
# clustering loss. Each is the module's name: the names imported from it.
DEFERRED_MODULES = {
    'note_seq.notebook_utils': ('play_sequence', 'plot_sequence'),
    'sklearn.metrics': (),
}


def load_on_first_use(modules):
  """Makes each module of `modules` load when first used instead of on import.

  Every script's start-up pays for what its imports import (README: Speed).
  A module not loaded yet stands in sys.modules as a `_LoadedOnFirstUse`,
  which loads the real one on the first use of an attribute; the names the
  importing package takes from it by name are functions that do the same.
  """
  if not written_for_installed('note-seq', 'loading notebook helpers on first use',
                               speed_only=True):
    return
  for name, imported_by_name in modules.items():
    if name not in sys.modules:
      sys.modules[name] = _LoadedOnFirstUse(name, imported_by_name)


class _LoadedOnFirstUse(types.ModuleType):
  """Stands in sys.modules for the module of its name until that is used."""

  def __init__(self, name, imported_by_name):
    super().__init__(name)
    parent = importlib.util.find_spec(name.rpartition('.')[0])  # does not import it
    spec = importlib.machinery.PathFinder.find_spec(name, parent.submodule_search_locations)
    # The import system asks for __path__ to import a submodule, and of a
    # module imported `from` (no submodule then): only a package answers.
    self._is_package = spec.submodule_search_locations is not None
    for attribute in imported_by_name:
      setattr(self, attribute, self._forwarding(attribute))

  def __getattr__(self, attribute):  # attributes this stand-in does not have
    if attribute.startswith('__') and not (attribute == '__path__' and self._is_package):
      raise AttributeError(attribute)  # e.g. __file__, read by whatever scans sys.modules
    return getattr(self._real_module(), attribute)

  def _forwarding(self, attribute):
    def forwarded(*args, **kwargs):
      return getattr(self._real_module(), attribute)(*args, **kwargs)
    forwarded.__name__ = attribute
    return forwarded

  def _real_module(self):
    if sys.modules.get(self.__name__) is self:
      del sys.modules[self.__name__]
      importlib.import_module(self.__name__)
    return sys.modules[self.__name__]


def load_tensorflow(verbose=False, fast_lstms=True):
  """TensorFlow in graph mode, as Magenta's scripts run it, quietly; then the fast LSTMs.

  Call `setup()` first. `fast_lstms=False` leaves Magenta's LSTMs (and Magenta
  itself) unimported, for jobs that only read or write TFRecords.
  """
  from absl import logging as absl_logging  # pylint: disable=g-import-not-at-top
  absl_logging.set_verbosity(absl_logging.INFO if verbose else absl_logging.ERROR)
  if not verbose:
    warnings.filterwarnings('ignore')
  # TensorFlow logs notes at import through absl's C++ log, before it reads
  # TF_CPP_MIN_LOG_LEVEL ("All log messages before absl::InitializeLog() ...").
  with _stderr_silenced(not verbose):
    import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  tf.get_logger().setLevel(logging.INFO if verbose else logging.ERROR)
  tf.disable_v2_behavior()
  if fast_lstms:
    conductor_dropout_only_in_training()
    use_fast_cpu_lstms()


def set_environment(verbose=False):
  """TensorFlow's environment variables; a value the user set is kept."""
  for name, value in TENSORFLOW_ENVIRONMENT.items():
    os.environ.setdefault(name, value)
  if verbose:
    os.environ['TF_CPP_MIN_LOG_LEVEL'] = '0'  # effective if TF is not loaded yet


def use_training_threads(cpus=None):
  """Runs each TensorFlow op on half the usable cores, so two ops run side by side.

  A training step is mostly time loops of small MatMuls and element-wise ops
  (64 rows at batch 64), and the encoder runs two of them at once, one per
  direction. Split over every core, each such op spends much of its time
  handing work between threads; on half the cores each, the two directions
  run side by side (BENCHMARKS.md; measured on 2 cores, where an op gets one).
  Sets TF_NUM_INTRAOP_THREADS unless the user set it; TensorFlow reads it when
  it makes its CPU device, so call this before TensorFlow runs anything.
  Returns the line train.py prints.
  """
  from drumvae import midi_corpus  # pylint: disable=g-import-not-at-top  (imports mido)
  cpus = cpus or midi_corpus.available_cpus()
  os.environ.setdefault('TF_NUM_INTRAOP_THREADS', str(max(1, cpus // 2)))
  return (f'threads: {os.environ["TF_NUM_INTRAOP_THREADS"]} per op, of {cpus} usable '
          '(TF_NUM_INTRAOP_THREADS)')


def check_environment():
  """ImportError unless `setup()` (or the same variable) came before TensorFlow.

  Without TF_USE_LEGACY_KERAS Magenta fails deep inside graph building.
  """
  if os.environ.get('TF_USE_LEGACY_KERAS') != '1':
    raise ImportError('call drumvae.runtime.setup() before importing configs or '
                      'TensorFlow (Magenta needs TF_USE_LEGACY_KERAS=1)')


def keep_freed_memory_for_reuse():
  """Makes glibc's malloc keep freed memory instead of giving it back to the OS.

  A training step frees its big tensors, and glibc returns such blocks to the
  OS at once (munmap; heap trimming). The next step allocates them again and the
  kernel zero-fills every page anew (README: Speed). Kept, they are reused.
  Set DRUMVAE_KEEP_FREED_MEMORY=0 for glibc's defaults. No-op off glibc.
  """
  if os.environ.get('DRUMVAE_KEEP_FREED_MEMORY', '1') == '0':
    return
  mallopt = getattr(ctypes.CDLL(None), 'mallopt', None)
  if mallopt is None:
    return
  m_trim_threshold, m_mmap_max = -1, -4  # <malloc.h>
  mallopt(m_mmap_max, 0)  # every block comes from the heap, none from mmap
  mallopt(m_trim_threshold, 2**31 - 1)  # and the heap is never trimmed


def import_fluidsynth_quietly():
  """Imports pyfluidsynth with its stdout hidden.

  It prints "'fluidsynth' was found at ..." on import when $CI is set, and
  pretty_midi and note_seq import it; our scripts' stdout is the list of files
  they wrote. If it does not load, drumvae.audio says so when audio is asked for.
  """
  with contextlib.redirect_stdout(io.StringIO()):
    try:
      import fluidsynth  # pylint: disable=g-import-not-at-top,unused-import
    except (ImportError, OSError):
      pass


@contextlib.contextmanager
def _stderr_silenced(silence):
  """Points file descriptor 2 at /dev/null, so C++ logging is hidden too."""
  if not silence:
    yield
    return
  saved = os.dup(2)
  devnull = os.open(os.devnull, os.O_WRONLY)
  os.dup2(devnull, 2)
  try:
    yield
  finally:
    os.dup2(saved, 2)
    os.close(saved)
    os.close(devnull)


def read_midi_bytes_once():
  """mido's file reader builds each Message from the bytes it has checked.

  mido checks every data byte of a channel message, then calls
  Message.from_bytes, which checks the same bytes again.
  """
  if not written_for_installed('mido', 'the MIDI reading speed-up',
                               speed_only=True):
    return
  import mido  # pylint: disable=g-import-not-at-top
  from mido.messages import decode  # pylint: disable=g-import-not-at-top
  from mido.midifiles import midifiles  # pylint: disable=g-import-not-at-top

  class ReaderMessage:  # What mido's file reader calls `Message`.
    def __new__(cls, *args, **kwargs):
      return mido.Message(*args, **kwargs)

    @staticmethod
    def from_bytes(data, time=0):
      message = mido.Message.__new__(mido.Message)
      vars(message).update(decode.decode_message(data, time=time, check=False))
      return message

  midifiles.Message = ReaderMessage


def use_fast_cpu_lstms(enabled=True):
  """Makes LSTMs built from now on take drumvae.fast_lstm's path (or Magenta's).

  Left off on a GPU, where the block op has its own fused CUDA kernel.
  """
  from drumvae import fast_lstm  # pylint: disable=g-import-not-at-top  (imports TF)
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  from magenta.contrib import rnn as contrib_rnn  # pylint: disable=g-import-not-at-top
  from magenta.models.music_vae import lstm_models  # pylint: disable=g-import-not-at-top
  fast = (enabled and not tf.config.list_physical_devices('GPU') and
          written_for_installed('magenta', 'the fast CPU LSTMs', speed_only=True))
  contrib_rnn.LSTMBlockCell.call = (
      fast_lstm.call_as_matmul if fast else fast_lstm.BLOCK_OP_CALL)
  lstm_models.BidirectionalLstmEncoder.encode = (
      fast_lstm.encode_with_hoisted_input_products if fast
      else fast_lstm.STOCK_ENCODE)
  lstm_models.BaseLstmDecoder.build = (
      fast_lstm.build_decoder_with_output_projection if fast
      else fast_lstm.STOCK_DECODER_BUILD)
  if not fast:
    fast_lstm.PRODUCT_DTYPE = tf.float32


def conductor_dropout_only_in_training():
  """Makes HierarchicalLstmDecoder.build pass `is_training` to its conductor's cells.

  Magenta builds the conductor with `lstm_utils.rnn_cell(...)` and no
  `is_training`, whose default is True: its dropout stays on when sampling and
  evaluating, so a z decodes differently every time and with half the
  conductor's inputs dropped (keep 0.5). The core decoder's cells get it.
  """
  from magenta.models.music_vae import lstm_models  # pylint: disable=g-import-not-at-top
  from magenta.models.music_vae import lstm_utils  # pylint: disable=g-import-not-at-top
  written_for_installed('magenta', 'the conductor dropout fix', speed_only=False)
  decoder_class = lstm_models.HierarchicalLstmDecoder
  stock_build = getattr(decoder_class.build, 'stock', decoder_class.build)
  stock_rnn_cell = lstm_utils.rnn_cell

  def build(self, hparams, output_depth, is_training=True):
    def rnn_cell(rnn_cell_size, dropout_keep_prob, residual,
                 is_training=is_training):  # the default that changes
      return stock_rnn_cell(rnn_cell_size, dropout_keep_prob, residual, is_training)
    with _patched(lstm_utils, 'rnn_cell', rnn_cell):
      stock_build(self, hparams, output_depth, is_training)

  build.stock = stock_build  # calling this function again patches Magenta's
  decoder_class.build = build


@contextlib.contextmanager
def teacher_forced(decoder):
  """Builds `decoder`'s losses with teacher forcing, whatever its sampling schedule.

  Outside training Magenta feeds a decoder with a scheduled-sampling config its
  own samples (sampling probability 1); a loss to differentiate needs the
  true previous steps. Reaches the core decoder of a hierarchical one.
  """
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  core = getattr(decoder, '_core_decoder', decoder)
  with _patched(core, '_sampling_probability', tf.constant(0.0)):
    yield


@contextlib.contextmanager
def seeded_graphs(seed):
  """Models built meanwhile sample repeatably from `seed` (None: no change).

  Magenta's TrainedModel builds its graph inside its constructor, so its
  sampling ops cannot be seeded from outside: graphs made with `tf.Graph()`
  get graph seed `seed` here, which gives every random op a fixed seed. The
  decoder's sampler draws its per-step seed with an op that does not wait for
  the step before, so Magenta's `dynamic_decode` may run it ahead for several
  steps in any order: here its loop runs one step at a time.
  """
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  from magenta.contrib import seq2seq  # pylint: disable=g-import-not-at-top
  if seed is None:
    yield
    return
  stock_graph, stock_dynamic_decode = tf.Graph, seq2seq.dynamic_decode

  def seeded_graph():
    graph = stock_graph()
    graph.seed = seed
    return graph

  def dynamic_decode_in_order(*args, **kwargs):
    return stock_dynamic_decode(*args, **{**kwargs, 'parallel_iterations': 1})

  with _patched(tf, 'Graph', seeded_graph), \
       _patched(seq2seq, 'dynamic_decode', dynamic_decode_in_order):
    yield


@contextlib.contextmanager
def graph_optimizer_off():
  """Sessions created meanwhile skip TensorFlow's graph optimizer (grappler).

  A model loaded to generate runs its graph a few times on a few grooves:
  grappler's passes over the unrolled hierarchical decoder and refinement's
  gradients then cost more than they save (README: Speed).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  before = tf.config.optimizer.get_experimental_options()
  tf.config.optimizer.set_experimental_options({'disable_meta_optimizer': True})
  try:
    yield
  finally:
    tf.config.optimizer.set_experimental_options(
        {'disable_meta_optimizer': before.get('disable_meta_optimizer', False)})


PRECISIONS = ('auto', 'float32', 'bfloat16')
PRECISION_HELP = (  # train.py's and generate.py's --precision
    '(added) Input dtype of the LSTM and output-layer matrix products: bfloat16 '
    '(float32 weights, state and loss; checkpoints load in either) is faster on '
    'CPUs that multiply it natively (avx512_bf16, amx_bf16); auto = bfloat16 '
    'there, float32 elsewhere. README: Speed.')
# /proc/cpuinfo flags of CPUs that multiply bfloat16 natively (Zen 4, Cooper
# Lake and later; AMX: Sapphire Rapids and later), which oneDNN uses.
NATIVE_BFLOAT16_FLAGS = ('amx_bf16', 'avx512_bf16')


def native_bfloat16_flags(cpuinfo='/proc/cpuinfo'):
  """The NATIVE_BFLOAT16_FLAGS this CPU reports (none if cpuinfo is unreadable)."""
  try:
    with open(cpuinfo, encoding='utf-8') as f:
      for line in f:
        if line.startswith('flags'):
          return [flag for flag in NATIVE_BFLOAT16_FLAGS if flag in line.split()]
  except OSError:
    pass
  return []


def use_precision(precision, cpuinfo='/proc/cpuinfo'):
  """Sets the dtype of the LSTM and output-layer products for models built from now on.

  `precision` is --precision: float32, bfloat16, or auto (bfloat16 where the
  CPU multiplies it natively). Weights, state and loss stay float32 either
  way, so checkpoints load in both. Returns the startup line saying which
  precision was chosen and why.
  """
  from drumvae import fast_lstm  # pylint: disable=g-import-not-at-top  (imports TF)
  from magenta.contrib import rnn as contrib_rnn  # pylint: disable=g-import-not-at-top
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  fast = contrib_rnn.LSTMBlockCell.call is fast_lstm.call_as_matmul
  flags = native_bfloat16_flags(cpuinfo)
  if precision == 'auto':
    if not fast:
      chosen, why = 'float32', 'auto: the fast CPU LSTMs are off (a GPU, or another Magenta)'
    elif flags:
      chosen, why = 'bfloat16', f'auto: this CPU multiplies bfloat16 natively, {flags[0]}'
    else:
      chosen, why = 'float32', 'auto: this CPU has no native bfloat16, no avx512_bf16 or amx_bf16'
  elif precision == 'bfloat16' and not fast:
    chosen, why = 'float32', ('--precision=bfloat16 needs the fast CPU LSTMs, which are '
                              'off (a GPU, or another Magenta)')
  else:
    chosen, why = precision, f'--precision={precision}'
    if chosen == 'bfloat16' and not flags:
      why += '; this CPU has no native bfloat16: emulated, slower than float32'
  fast_lstm.PRODUCT_DTYPE = tf.bfloat16 if chosen == 'bfloat16' else tf.float32
  products = 'bfloat16 products, float32 weights' if chosen == 'bfloat16' else 'float32'
  return f'precision: {products} ({why})'


@contextlib.contextmanager
def _patched(owner, name, replacement):
  original = getattr(owner, name)
  setattr(owner, name, replacement)
  try:
    yield
  finally:
    setattr(owner, name, original)


def magenta_dataset(config, is_training, cache_dataset=True):
  """Magenta's `data.get_dataset`, with `Dataset.unbatch()` done by `flat_map`.

  `unbatch()` segfaults on TF >= 2.15 for the zero-width control tensor that
  DrumsConverter yields (TF 2.9.1 is fine); `flat_map(from_tensor_slices)`
  yields the same elements.
  """
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  from magenta.models.music_vae import data  # pylint: disable=g-import-not-at-top
  written_for_installed('tensorflow', 'the unbatch() work-around',
                        speed_only=False)

  def unbatch_with_flat_map(dataset):
    return dataset.flat_map(
        lambda *rows: tf.data.Dataset.from_tensor_slices(rows))

  with _patched(tf.data.Dataset, 'unbatch', unbatch_with_flat_map):
    return data.get_dataset(config, is_training=is_training,
                            cache_dataset=cache_dataset)


# How long a stopping session waits for its queue threads. A sync chief's
# queue thread waits for gradients from every worker; when all workers stop
# together none come, and TensorFlow's default 120 s is then spent in full.
STOP_GRACE_SECS = 5


@contextlib.contextmanager
def magenta_training_loop(our_hooks=(), save_summaries_steps=100,
                          save_checkpoint_secs=60, session_config=None):
  """Within it, Magenta's `music_vae_train.train()` runs with our hooks, intervals and stop.

  Magenta builds its own hook list and calls tf_slim's `train` with a fixed
  60 s checkpoint interval, no session config and no way to pass more. That
  call is replaced by tf_slim's own loop (one `MonitoredTrainingSession`)
  opened with our settings and STOP_GRACE_SECS, writing checkpoint names, not
  paths, into train/checkpoint (a run dir stays movable), and no graph.pbtxt
  and no .meta beside each checkpoint: nothing reads them (TrainedModel
  rebuilds the graph; TensorBoard finds it in the events file).
  """
  import tf_slim  # pylint: disable=g-import-not-at-top
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  written_for_installed('tf-slim', 'replacing the training loop Magenta calls',
                        speed_only=False)

  def tf_slim_train_with_our_settings(train_op, logdir, scaffold, hooks, master,
                                      is_chief, **magentas_interval):
    del magentas_interval  # its fixed 60 s checkpoints; ours are used
    scaffold.saver._save_relative_paths = True  # pylint: disable=protected-access
    with tf.train.MonitoredTrainingSession(
        master=master, is_chief=is_chief, checkpoint_dir=logdir,
        scaffold=scaffold, hooks=list(hooks) + list(our_hooks),
        save_checkpoint_secs=save_checkpoint_secs,
        save_summaries_steps=save_summaries_steps, config=session_config,
        stop_grace_period_secs=STOP_GRACE_SECS,
        save_graph_def=False) as session:
      while not session.should_stop():
        session.run(train_op)

  sync_optimizer = tf.train.SyncReplicasOptimizer
  chief_queue_runner = sync_optimizer.get_chief_queue_runner

  def chief_queue_runner_ending_quietly(self):
    # Closing the session cancels the chief's wait for gradients; its queue
    # thread would then print a traceback, as only OutOfRangeError ends it quietly.
    runner = chief_queue_runner(self)
    return tf.train.QueueRunner(
        runner.queue, runner.enqueue_ops, runner.close_op, runner.cancel_op,
        queue_closed_exception_types=(tf.errors.OutOfRangeError,
                                      tf.errors.CancelledError))

  with _patched(tf_slim.training, 'train', tf_slim_train_with_our_settings), \
       _patched(sync_optimizer, 'get_chief_queue_runner',
                chief_queue_runner_ending_quietly):
    yield

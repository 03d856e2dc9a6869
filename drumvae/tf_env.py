"""Sets up the environment TensorFlow, Magenta and pyfluidsynth need, before they are imported.

The package's __init__ imports this module, so any `drumvae` import comes first.
"""
import contextlib
import ctypes
import io
import logging
import os
import warnings

# Magenta builds its models with tf.compat.v1 layers, which need Keras 2
# (the tf-keras package); TensorFlow >= 2.16 defaults to Keras 3.
os.environ.setdefault('TF_USE_LEGACY_KERAS', '1')
# oneDNN kernels are on by default only on Intel CPUs; on others (AMD here) the
# Eigen MatMul of each LSTM backward step (dX = dGates @ W^T) runs 3-4x slower.
# Same math, different summation order: ~2x faster training (BENCHMARKS.md).
os.environ.setdefault('TF_ENABLE_ONEDNN_OPTS', '1')
# TensorFlow's C++ chatter (CUDA probing, oneDNN notes such as "oneDNN supports
# DT_BOOL only on platforms with AVX-512", logged as errors) hides our output;
# real failures still reach Python as exceptions. --verbose shows it all.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')


def _keep_freed_memory_for_reuse():
  """Makes glibc's malloc keep freed memory instead of giving it back to the OS.

  A training step frees its big tensors, and glibc returns such blocks to the
  OS at once (munmap; heap trimming). The next step allocates them again and the
  kernel zero-fills every page anew: ~95,000 page faults a step for
  hierdec_small at batch 64, about 10% of the step. Kept, they are reused.
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


_keep_freed_memory_for_reuse()

# pyfluidsynth prints "'fluidsynth' was found at ..." to stdout on import when
# $CI is set, and pretty_midi and note_seq import it; our scripts' stdout is the
# list of files they wrote. Import it once here, quietly. If it does not load,
# drumvae.audio says so when audio is asked for.
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


def setup_tensorflow(verbose=False):
  """Graph mode as Magenta's scripts run it, without the deprecation noise."""
  if verbose:
    os.environ['TF_CPP_MIN_LOG_LEVEL'] = '0'  # effective if TF is not loaded yet
  from absl import logging as absl_logging  # pylint: disable=g-import-not-at-top
  absl_logging.set_verbosity(absl_logging.INFO if verbose else absl_logging.ERROR)
  if not verbose:
    warnings.filterwarnings('ignore')
  with _stderr_silenced(not verbose):  # TF prints oneDNN notes at import
    import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  tf.get_logger().setLevel(logging.INFO if verbose else logging.ERROR)
  tf.disable_v2_behavior()

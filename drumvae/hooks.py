"""Session hooks added to Magenta's training loop: progress lines and a clean stop."""
import signal
import sys
import time

import tensorflow.compat.v1 as tf


def _duration(seconds):
  minutes, seconds = divmod(int(seconds), 60)
  hours, minutes = divmod(minutes, 60)
  return f'{hours}h{minutes:02d}m' if hours else f'{minutes}m{seconds:02d}s'


class ProgressHook(tf.train.SessionRunHook):
  """Prints `step, loss, steps/s, time left` at most every `every_secs` seconds.

  Magenta logs every 100 steps, which on a CPU can be many silent minutes.
  """

  def __init__(self, loss_fn, num_steps, every_secs=10.0):
    self._loss_fn = loss_fn  # called in begin(), once the model is built
    self._num_steps = num_steps
    self._every_secs = every_secs

  def begin(self):
    self._global_step = tf.train.get_global_step()
    self._loss = self._loss_fn()
    self._last_time = None
    self._last_step = None

  def before_run(self, run_context):
    return tf.train.SessionRunArgs(self._loss)

  def after_run(self, run_context, run_values):
    # Read after the run: fetched with the train op, the step may be either
    # side of its increment.
    step = int(run_context.session.run(self._global_step))
    loss = run_values.results
    now = time.monotonic()
    if self._last_time is None:  # the first step includes graph set-up
      self._report(step, loss, None)
      self._last_time, self._last_step = now, step
    elif now - self._last_time >= self._every_secs or step == self._num_steps:
      rate = (step - self._last_step) / (now - self._last_time)
      self._report(step, loss, rate)
      self._last_time, self._last_step = now, step

  def _report(self, step, loss, steps_per_sec):
    total = f'/{self._num_steps}' if self._num_steps else ''
    line = f'step {step}{total}  loss {loss:.3f}'
    if steps_per_sec:
      line += f'  {steps_per_sec:.3g} steps/s'
      if self._num_steps and step < self._num_steps:
        line += f'  {_duration((self._num_steps - step) / steps_per_sec)} left'
    print(line, flush=True)


class StopOnSignalHook(tf.train.SessionRunHook):
  """Turns Ctrl-C / SIGTERM into a clean stop, so the final checkpoint is saved.

  Magenta's session saves a checkpoint when it ends normally, but an exception
  (KeyboardInterrupt) skips that. A second signal stops at once.
  """

  SIGNALS = (signal.SIGINT, signal.SIGTERM)

  def begin(self):
    self.stopped_by = None
    self._previous = {s: signal.signal(s, self._on_signal) for s in self.SIGNALS}

  def _on_signal(self, signum, frame):
    if self.stopped_by is not None:
      self.end(None)
      signal.raise_signal(signum)
    self.stopped_by = signal.Signals(signum).name
    print(f'{self.stopped_by}: finishing this step and saving a checkpoint '
          '(send it again to stop at once)', file=sys.stderr, flush=True)

  def after_run(self, run_context, run_values):
    if self.stopped_by is not None:
      run_context.request_stop()

  def end(self, session):
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)

"""Training on TensorFlow's parameter-server runtime, from the standard TF_CONFIG variable.

Each process runs the same train.py command with its own TF_CONFIG:
  {"cluster": {"ps": ["host:port"], "worker": ["host:port", ...]},
   "task": {"type": "ps" | "worker", "index": i}}
A ps process serves the variables until stopped. A worker joins Magenta's own
distributed training (its --master, --task, --num_ps_tasks and
--num_sync_workers): synchronous updates over all workers unless
--num_sync_workers says otherwise; worker 0 is the chief, which writes
checkpoints and summaries.
"""
import dataclasses
import json
import os
import socket
import threading
import time
from typing import Optional

from drumvae import cli
from drumvae.cli import UserError

import tensorflow.compat.v1 as tf

JOBS = ('ps', 'worker')
# A worker whose parameter server stops answering this long exits with an
# error; TensorFlow itself would wait for it forever.
PS_SILENCE_SECS = 15


@dataclasses.dataclass(frozen=True)
class Task:
  """This process's place in the cluster."""
  cluster: dict  # job name -> list of host:port
  job: str  # 'ps' or 'worker'
  index: int

  @property
  def is_chief(self):
    return self.job == 'worker' and self.index == 0


def task_from_environment() -> Optional[Task]:
  """The Task TF_CONFIG describes, or None without it; UserError if it is malformed."""
  text = os.environ.get('TF_CONFIG', '').strip()
  if not text:
    return None
  try:
    config = json.loads(text)
    cluster = {job: list(config['cluster'][job]) for job in JOBS}
    task = Task(cluster, config['task']['type'], int(config['task']['index']))
  except (ValueError, KeyError, TypeError) as e:
    raise UserError(
        f'TF_CONFIG is not a cluster spec with "ps" and "worker" jobs and a task '
        f'({type(e).__name__}: {e}); see README: Scaling out') from None
  if task.job not in JOBS or not 0 <= task.index < len(cluster[task.job]):
    raise UserError(f'TF_CONFIG: task {task.job}:{task.index} is not in the cluster '
                    f'{json.dumps(cluster)}')
  return task


def start_server(task):
  """This process's TensorFlow server; UserError if its port is taken."""
  try:
    return tf.train.Server(tf.train.ClusterSpec(task.cluster), job_name=task.job,
                           task_index=task.index)
  except (tf.errors.UnknownError, tf.errors.InternalError) as e:
    address = task.cluster[task.job][task.index]
    raise UserError(f'TF_CONFIG: cannot serve {task.job}:{task.index} on {address} '
                    f'({e.message.splitlines()[0][:200]})') from None


def serve_parameters(task):
  """A parameter server: serves until the process is stopped."""
  server = start_server(task)
  print(f'parameter server {task.job}:{task.index} serving on '
        f'{task.cluster[task.job][task.index]}; stop it with Ctrl-C', flush=True)
  server.join()


def session_config(task):
  """Lets a worker see only the ps and itself: it needs no other worker to start,
  and Magenta's ops on '/job:worker' land on this one."""
  return tf.ConfigProto(device_filters=['/job:ps', f'/job:worker/task:{task.index}'])


def exit_when_parameter_servers_stop(task, run_dir):
  """Watches the ps addresses from a daemon thread; exits this worker if one goes.

  The variables live on the ps, so there is nothing left to save here; the
  chief's last checkpoint is what a restarted cluster resumes from.
  """
  def watch():
    answered, silent_since = set(), {}
    while True:
      time.sleep(1)
      for address in task.cluster['ps']:
        host, port = address.rsplit(':', 1)
        try:
          socket.create_connection((host, int(port)), timeout=5).close()
          answered.add(address)
          silent_since.pop(address, None)
        except OSError:
          if address not in answered:
            continue  # not up yet: TensorFlow waits for it, and so do we
          silent_since.setdefault(address, time.monotonic())
          if time.monotonic() - silent_since[address] > PS_SILENCE_SECS:
            cli.error_line(
                f'parameter server {address} stopped answering; restart it, then '
                f'the workers: they resume from the last checkpoint in {run_dir}/train')
            os._exit(cli.EXIT_USER_ERROR)  # pylint: disable=protected-access

  threading.Thread(target=watch, daemon=True, name='ps-watch').start()

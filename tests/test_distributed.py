"""train.py on TensorFlow's parameter-server runtime: one ps and two sync workers on 127.0.0.1.

Every process is the same train.py command with its own TF_CONFIG, as users run
it; ports are chosen free at run time. Core tier: the project's dataset/.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
from conftest import REPO

HPARAMS = 'batch_size=8,z_size=8,enc_rnn_size=[16],dec_rnn_size=[16,16]'
PROGRESS = re.compile(r'^step (\d+)/')


def free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(('127.0.0.1', 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


class Cluster:
  """One ps and two workers, each a train.py process logging to its own file."""

  def __init__(self, tmp_path, examples, num_steps):
    ps, *workers = [f'127.0.0.1:{port}' for port in free_ports(3)]
    self.cluster = {'ps': [ps], 'worker': workers}
    self.run_dir, self.tmp_path = tmp_path / 'run', tmp_path
    self.args = ['--config=flat-drums_4bar', f'--run_dir={self.run_dir}',
                 f'--examples_path={examples}', f'--hparams={HPARAMS}',
                 f'--num_steps={num_steps}', '--progress_secs=0', '--save_checkpoint_secs=2']
    self.processes = {}

  def start(self, job, index):
    name = f'{job}{index}'
    log = open(self.tmp_path / f'{name}.log', 'a')  # pylint: disable=consider-using-with
    config = json.dumps({'cluster': self.cluster, 'task': {'type': job, 'index': index}})
    self.processes[name] = subprocess.Popen(
        [sys.executable, str(REPO / 'train.py'), *self.args], cwd=REPO, stdout=log,
        stderr=subprocess.STDOUT, env={**os.environ, 'TF_CONFIG': config})
    return self.processes[name]

  def lines(self, name):
    return (self.tmp_path / f'{name}.log').read_text().splitlines()

  def steps(self, name):
    return [int(m.group(1)) for m in map(PROGRESS.match, self.lines(name)) if m]

  def wait_for_step(self, name, step, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
      if max(self.steps(name), default=0) >= step:
        return
      assert self.processes[name].poll() is None, self.lines(name)[-10:]
      time.sleep(0.5)
    raise AssertionError(f'{name} did not reach step {step}: {self.lines(name)[-5:]}')

  def stop(self):
    for process in self.processes.values():
      if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(name='cluster')
def fixture_cluster(tmp_path, dataset_tfrecord):
  cluster = Cluster(tmp_path, dataset_tfrecord, num_steps=60)
  yield cluster
  cluster.stop()


def latest_step(run_dir):
  state = (run_dir / 'train' / 'checkpoint').read_text()
  return int(re.search(r'^model_checkpoint_path: ".*ckpt-(\d+)"', state, re.M).group(1))


def test_sync_workers_train_and_the_chiefs_checkpoint_samples(cluster, tmp_path):
  cluster.start('ps', 0)
  workers = [cluster.start('worker', 0), cluster.start('worker', 1)]
  for worker in workers:
    assert worker.wait(timeout=300) == 0, cluster.lines('worker0')[-10:]
  assert latest_step(cluster.run_dir) == 60
  # Each update aggregates 2 gradients: the workers ran ~2 steps per global step.
  runs = len(cluster.steps('worker0')) + len(cluster.steps('worker1'))
  assert runs >= 2 * 60 - 4, runs
  recorded = json.loads((cluster.run_dir / 'run.json').read_text())
  assert recorded['config'] == 'flat-drums_4bar'
  assert recorded['resolved_hparams']['batch_size'] == 8  # the whole batch, 4 per worker
  result = subprocess.run([sys.executable, str(REPO / 'generate.py'), f'--run_dir={cluster.run_dir}',
                           '--num_outputs=2', f'--output_dir={tmp_path / "samples"}'],
                          cwd=REPO, capture_output=True, text=True)
  assert result.returncode == 0, result.stderr[-3000:]
  assert len(result.stdout.split()) == 2


def test_a_killed_worker_restarts_and_training_goes_on(tmp_path, dataset_tfrecord):
  """Sync updates wait for the missing worker's gradients; restarted, it joins at the
  cluster's step (not from 0) and both go on."""
  cluster = Cluster(tmp_path, dataset_tfrecord, num_steps=100000)
  try:
    cluster.start('ps', 0)
    cluster.start('worker', 0)
    worker1 = cluster.start('worker', 1)
    cluster.wait_for_step('worker1', 20)
    worker1.kill()
    worker1.wait()
    killed_at = max(cluster.steps('worker1'))
    before_restart = len(cluster.steps('worker1'))
    cluster.start('worker', 1)
    cluster.wait_for_step('worker1', killed_at + 20)
    cluster.wait_for_step('worker0', killed_at + 20)
    assert min(cluster.steps('worker1')[before_restart:]) >= killed_at
  finally:
    cluster.stop()


def test_a_killed_ps_is_one_clear_error_not_a_hang(tmp_path, dataset_tfrecord):
  cluster = Cluster(tmp_path, dataset_tfrecord, num_steps=100000)
  try:
    ps = cluster.start('ps', 0)
    workers = [cluster.start('worker', 0), cluster.start('worker', 1)]
    cluster.wait_for_step('worker0', 10)
    ps.send_signal(signal.SIGKILL)
    for worker in workers:
      assert worker.wait(timeout=90) == 1
    for name in ('worker0', 'worker1'):
      last = cluster.lines(name)[-1]
      assert last.startswith('train.py: error: parameter server 127.0.0.1:'), last
      assert 'stopped answering' in last and 'Traceback' not in '\n'.join(cluster.lines(name))
  finally:
    cluster.stop()


def test_sigterm_stops_the_cluster_cleanly_and_a_restart_resumes(tmp_path, dataset_tfrecord):
  """SIGTERM to every worker: each finishes its step, the chief saves a checkpoint and
  all exit 0 without a traceback. Started again (the ps too), the cluster resumes from
  that checkpoint."""
  cluster = Cluster(tmp_path, dataset_tfrecord, num_steps=100000)
  try:
    ps = cluster.start('ps', 0)
    chief, worker = cluster.start('worker', 0), cluster.start('worker', 1)
    cluster.wait_for_step('worker0', 20)
    started = time.monotonic()
    for process in (chief, worker):
      process.send_signal(signal.SIGTERM)
    assert chief.wait(timeout=60) == 0, cluster.lines('worker0')[-10:]
    chief_stopped_in = time.monotonic() - started
    assert worker.wait(timeout=60) == 0, cluster.lines('worker1')[-10:]
    ps.send_signal(signal.SIGTERM)
    ps.wait(timeout=30)
    assert cluster.lines('worker0')[-1] == 'stopped by SIGTERM; checkpoint saved, rerun to resume'
    for name in ('worker0', 'worker1'):
      assert 'Traceback' not in '\n'.join(cluster.lines(name)), cluster.lines(name)[-20:]
    # TensorFlow's own grace for queue threads would be 120 s (runtime.STOP_GRACE_SECS).
    assert chief_stopped_in < 25, chief_stopped_in
    saved = latest_step(cluster.run_dir)
    assert saved >= 20
    steps_before = len(cluster.steps('worker0'))
    for job, index in (('ps', 0), ('worker', 0), ('worker', 1)):
      cluster.start(job, index)
    cluster.wait_for_step('worker0', saved + 5)
    assert min(cluster.steps('worker0')[steps_before:]) >= saved
  finally:
    cluster.stop()

"""Benchmarks this toolkit against stock Magenta, side by side, and writes BENCHMARKS.md.

  .venv/bin/python benchmarks/benchmark.py --quick   # ~20-30 min on 2 cores
  .venv/bin/python benchmarks/benchmark.py           # adds batch 512 and the large config

Three jobs, each run both ways on the same machine and the same data:
  conversion  make_tfrecord.py vs Magenta's convert_dir_to_note_sequences; the two
              tfrecords must hold the same NoteSequences.
  training    train.py's train() (oneDNN on, examples converted once up front)
              vs Magenta's music_vae_train.train() fed by data.get_dataset (only the
              unbatch workaround) with TensorFlow's default on this CPU, oneDNN off.
  sampling    generate.py's TrainedModel: load time and grooves/s from the
              checkpoint the training job just wrote.
Each training run is a child process (this script with --child) so TensorFlow
starts fresh with its own TF_ENABLE_ONEDNN_OPTS; a session hook in the child
times every step in wall and CPU seconds (CPU time does not count the time
other users' jobs take the cores, so it is the steadier figure on a shared machine).
"""
import dataclasses
import importlib.metadata
import json
import os
import platform
import resource
import shutil
import statistics
import struct
import subprocess
import sys
import time

from absl import app
from absl import flags

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable

flags.DEFINE_string(
    'groove_dir', os.environ.get('GROOVE_DIR', os.path.join(REPO, '../shared/data/groove')),
    'The Groove MIDI Dataset directory (default: $GROOVE_DIR or ../shared/data/groove).')
flags.DEFINE_bool(
    'quick', False,
    'Quick mode: convert a subset of --quick_files files, train at batch 64 only, '
    'without the large config.')
flags.DEFINE_integer(
    'quick_files', 200, 'Number of MIDI files converted (and trained on) in quick mode.',
    lower_bound=1)
flags.DEFINE_integer(
    'warmup_steps', 2,
    'Training steps not measured: step 1 includes graph optimisation, and step 2 '
    're-optimises it because the hooks fetch other tensors.', lower_bound=0)
flags.DEFINE_integer(
    'measured_steps', 3,
    'Training steps measured after the warm-up; the median is reported. Flat stock '
    'at batch 64 takes ~80 s a step on 2 cores.', lower_bound=1)
flags.DEFINE_list(
    'configs', None,
    'Configs to train (default: hierdec-drums_4bar_small and flat-drums_4bar, plus '
    'hierdec-drums_4bar_large unless --quick).')
flags.DEFINE_list(
    'batch_sizes', None, 'Batch sizes to train at (default: 64 and 512; 64 with --quick).')
flags.DEFINE_integer(
    'sample_grooves', 64, 'Number of grooves sampled in the sampling job.', lower_bound=1)
flags.DEFINE_string(
    'work_dir', '/tmp/drumvae_benchmark',
    'Scratch directory for tfrecords, run directories and child logs (emptied first).')
flags.DEFINE_string(
    'output_md', os.path.join(REPO, 'BENCHMARKS.md'), 'The report to write.')
flags.DEFINE_string(
    'child', None, 'Internal: run one job (JSON) in this process and print its RESULT.')

FLAGS = flags.FLAGS

# name: (encoder layer sizes, decoder layer sizes, hierarchical decoder?)
CONFIGS = {
    'flat-drums_4bar': ([1024, 1024], [512, 512], False),
    'hierdec-drums_4bar_small': ([512, 512], [256, 256], True),
    'hierdec-drums_4bar_large': ([1024, 1024], [512, 512], True),
}
STEPS, BEATS = 64, 16  # 4 bars of sixteenths; the conductor runs once a beat
INPUT_DEPTH, OUTPUT_DEPTH, Z_SIZE = 10, 512, 256  # 9-drum roll + "no hit"; 2^9 patterns
# Zen1 (EPYC 7001): two 128-bit FMA pipes per core = 2 x 4 FP32 lanes x 2 flops.
# 256-bit AVX2 FMAs are split into two 128-bit halves, so AVX2 does not double it.
FLOPS_PER_CYCLE_PER_CORE = 16


# ---------------------------------------------------------------- FLOP count

def lstm_flops(input_size, hidden):
  """FLOPs of one LSTM cell step for one example: [x, h] @ W, W of 4 gates."""
  return 2 * (input_size + hidden) * 4 * hidden


def forward_flops_per_example(enc, dec, hierarchical):
  """MatMul FLOPs of one forward pass; element-wise ops and small dense layers left out."""
  encoder = 2 * STEPS * (lstm_flops(INPUT_DEPTH, enc[0]) +
                         sum(lstm_flops(2 * i, o) for i, o in zip(enc, enc[1:])))
  # The decoder's input each step: previous output one-hot + z (flat) or the
  # conductor's embedding (hierarchical, the size of its last layer).
  conditioning = dec[-1] if hierarchical else Z_SIZE
  decoder_step = (lstm_flops(OUTPUT_DEPTH + conditioning, dec[0]) +
                  sum(lstm_flops(i, o) for i, o in zip(dec, dec[1:])) +
                  2 * dec[-1] * OUTPUT_DEPTH)  # output layer over the 512 patterns
  conductor = 0
  if hierarchical:  # input is a zero of width 1 (autoregression disabled)
    conductor = BEATS * (lstm_flops(1, dec[0]) +
                         sum(lstm_flops(i, o) for i, o in zip(dec, dec[1:])))
  return encoder + STEPS * decoder_step + conductor


def train_step_flops(config_name, batch_size):
  """Forward + backward (twice the forward: gradients of inputs and of weights)."""
  return 3 * batch_size * forward_flops_per_example(*CONFIGS[config_name])


# ---------------------------------------------------------------- machine

def cpu_model_and_mhz():
  model, mhz = platform.processor(), 0.0
  with open('/proc/cpuinfo') as f:
    for line in f:
      key, _, value = line.partition(':')
      if key.strip() == 'model name':
        model = value.strip()
      elif key.strip() == 'cpu MHz':
        mhz = float(value)
  return model, mhz


def machine_info():
  model, mhz = cpu_model_and_mhz()
  cores = os.cpu_count()
  versions = {name: importlib.metadata.version(name) for name in
              ('tensorflow-cpu', 'tf-keras', 'magenta', 'note-seq', 'tf-slim')}
  return {'cpu': model, 'cores': cores, 'mhz': mhz,
          'peak_gflops': cores * FLOPS_PER_CYCLE_PER_CORE * mhz / 1e3,
          'python': platform.python_version(), 'versions': versions,
          'load_start': os.getloadavg(), 'memory_gb': os.sysconf('SC_PAGE_SIZE') *
          os.sysconf('SC_PHYS_PAGES') / 2**30}


# ---------------------------------------------------------------- running commands

@dataclasses.dataclass
class Run:
  """A finished command: its wall and CPU seconds (children included)."""
  command: list
  wall: float
  cpu: float
  result: dict


def run_command(command, log_path, env=None):
  """Runs `command`, logging its output; returns a Run with its RESULT line if any."""
  before = resource.getrusage(resource.RUSAGE_CHILDREN)
  start = time.monotonic()
  with open(log_path, 'w') as log:
    process = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                             env={**os.environ, **(env or {})}, cwd=REPO)
  wall = time.monotonic() - start
  after = resource.getrusage(resource.RUSAGE_CHILDREN)
  if process.returncode:
    raise RuntimeError(f'{" ".join(command)} failed; see {log_path}')
  result = {}
  with open(log_path) as log:
    for line in log:
      if line.startswith('RESULT '):
        result = json.loads(line[len('RESULT '):])
  cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
  print(f'  {wall:7.1f} s  {" ".join(command)[:150]}', flush=True)
  return Run(command, wall, cpu, result)


def child_command(job):
  return [PYTHON, os.path.abspath(__file__), '--child=' + json.dumps(job)]


# ---------------------------------------------------------------- conversion

def midi_paths(groove_dir):
  """The MIDI files under groove_dir, relative to it, sorted."""
  return sorted(os.path.relpath(os.path.join(root, name), groove_dir)
                for root, _, names in os.walk(groove_dir) for name in names
                if name.lower().endswith(('.mid', '.midi')))


def midi_subset(groove_dir, num_files, work_dir):
  """A directory named like groove_dir holding links to its first MIDI files.

  Same directory name, so both converters give the NoteSequences the same ids.
  """
  paths = midi_paths(groove_dir)[:num_files]
  subset = os.path.join(work_dir, 'subset', os.path.basename(os.path.normpath(groove_dir)))
  for path in paths:
    os.makedirs(os.path.dirname(os.path.join(subset, path)), exist_ok=True)
    os.symlink(os.path.abspath(os.path.join(groove_dir, path)), os.path.join(subset, path))
  return subset, len(paths)


def tfrecord_records(path):
  """The raw records of a TFRecord file (length, CRC, data, CRC each)."""
  records = []
  with open(path, 'rb') as f:
    while header := f.read(12):
      (length,) = struct.unpack('<Q', header[:8])
      records.append(f.read(length))
      f.read(4)
  return records


def benchmark_conversion(input_dir, work_dir):
  ours_path = os.path.join(work_dir, 'ours.tfrecord')
  stock_path = os.path.join(work_dir, 'stock.tfrecord')
  ours = run_command([PYTHON, 'make_tfrecord.py', f'--input_dir={input_dir}',
                      f'--output_file={ours_path}', '--recursive'],
                     os.path.join(work_dir, 'convert_ours.log'))
  stock = run_command([PYTHON, '-m', 'magenta.scripts.convert_dir_to_note_sequences',
                       f'--input_dir={input_dir}', f'--output_file={stock_path}',
                       '--recursive'],
                      os.path.join(work_dir, 'convert_stock.log'),
                      env={'TF_USE_LEGACY_KERAS': '1'})
  ours_records, stock_records = tfrecord_records(ours_path), tfrecord_records(stock_path)
  identical = sorted(ours_records) == sorted(stock_records)
  print(f'  NoteSequences: ours {len(ours_records)}, Magenta {len(stock_records)}, '
        f'identical: {identical}', flush=True)
  assert identical, 'the two converters wrote different NoteSequences'
  return {'ours': ours, 'stock': stock, 'records': len(ours_records),
          'examples_path': ours_path}


# ---------------------------------------------------------------- training (child side)

def step_timer(records):
  """A session hook appending (wall s, CPU s) of each step, hooks and summaries included."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top

  class StepTimer(tf.train.SessionRunHook):

    def after_create_session(self, session, coord):
      self.startup = time.monotonic() - START
      self.last = (time.monotonic(), time.process_time())

    def after_run(self, run_context, run_values):
      now = (time.monotonic(), time.process_time())
      records.append((now[0] - self.last[0], now[1] - self.last[1]))
      self.last = now

  return StepTimer()


def add_hook_to_magenta_train(hook):
  """Adds `hook` at the seam Magenta's train() calls: tf_slim's train()."""
  import tf_slim  # pylint: disable=g-import-not-at-top
  magenta_tf_slim_train = tf_slim.training.train

  def train_with_hook(*args, **kwargs):
    kwargs['hooks'] = list(kwargs.get('hooks') or []) + [hook]
    return magenta_tf_slim_train(*args, **kwargs)

  tf_slim.training.train = train_with_hook


def train_ours(job):
  import train  # pylint: disable=g-import-not-at-top
  train.train(job['run_dir'], job['config'], f'batch_size={job["batch_size"]}',
              job['examples_path'], num_steps=job['num_steps'], progress_secs=0)


def train_stock(job):
  import configs  # pylint: disable=g-import-not-at-top
  from drumvae import magenta_compat  # pylint: disable=g-import-not-at-top
  from magenta.models.music_vae import music_vae_train  # pylint: disable=g-import-not-at-top
  config = configs.get_config(job['config'], f'batch_size={job["batch_size"]}')
  config = config._replace(train_examples_path=job['examples_path'])
  music_vae_train.train(
      os.path.join(job['run_dir'], 'train'), config,
      lambda: magenta_compat.get_dataset_without_unbatch(config, is_training=True),
      num_steps=job['num_steps'])


def child_train(job):
  from drumvae import tf_env  # pylint: disable=g-import-not-at-top
  tf_env.setup_tensorflow()
  records = []
  hook = step_timer(records)
  add_hook_to_magenta_train(hook)
  {'ours': train_ours, 'stock': train_stock}[job['variant']](job)
  return {'steps': records, 'startup': hook.startup,
          'max_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_sample(job):
  from drumvae import tf_env  # pylint: disable=g-import-not-at-top
  tf_env.setup_tensorflow()
  import generate  # pylint: disable=g-import-not-at-top
  start = time.monotonic()
  config_name, hparams, config, checkpoint = generate.find_model(run_dir=job['run_dir'])
  model = generate.load_model(config, checkpoint, job['batch_size'], config_name)
  load = time.monotonic() - start
  timings = []
  for _ in range(2):  # the first call also optimises the sampling graph
    start, cpu = time.monotonic(), time.process_time()
    generate.sample(model, config, job['num_grooves'], temperature=0.5)
    timings.append((time.monotonic() - start, time.process_time() - cpu))
  return {'load': load, 'first': timings[0], 'second': timings[1]}


# ---------------------------------------------------------------- training (parent side)

def benchmark_training(config, batch_size, variant, examples_path, work_dir):
  run_dir = os.path.join(work_dir, 'runs', f'{variant}_{config}_{batch_size}')
  job = {'job': 'train', 'variant': variant, 'config': config, 'batch_size': batch_size,
         'examples_path': examples_path, 'run_dir': run_dir,
         'num_steps': FLAGS.warmup_steps + FLAGS.measured_steps}
  # Ours: drumvae.tf_env's defaults; stock: TensorFlow's (on AMD) and glibc's.
  ours = '1' if variant == 'ours' else '0'
  env = {'TF_ENABLE_ONEDNN_OPTS': ours, 'DRUMVAE_KEEP_FREED_MEMORY': ours}
  run = run_command(child_command(job), run_dir + '.log', env)
  measured = run.result['steps'][FLAGS.warmup_steps:]
  seconds = statistics.median(wall for wall, _ in measured)
  gflop = train_step_flops(config, batch_size) / 1e9
  return {'config': config, 'batch_size': batch_size, 'variant': variant,
          'run_dir': run_dir, 'command': run.command, 'env': env,
          'seconds': seconds, 'cpu': statistics.median(cpu for _, cpu in measured),
          'examples_per_s': batch_size / seconds, 'gflop': gflop,
          'gflops': gflop / seconds, 'startup': run.result['startup'],
          'max_rss_mb': run.result['max_rss_mb'], 'steps': run.result['steps']}


def benchmark_sampling(run_dir, work_dir):
  job = {'job': 'sample', 'run_dir': run_dir, 'num_grooves': FLAGS.sample_grooves,
         'batch_size': 8}  # generate.py's --max_batch_size default
  run = run_command(child_command(job), os.path.join(work_dir, 'sample.log'))
  return {**run.result, 'command': run.command, 'num_grooves': FLAGS.sample_grooves,
          'grooves_per_s': FLAGS.sample_grooves / run.result['second'][0]}


# ---------------------------------------------------------------- report

def conversion_table(conversion, num_files):
  rows = ['| converter | wall s | CPU s | files/s |', '| --- | ---: | ---: | ---: |']
  for name, run in (('Magenta convert_dir_to_note_sequences', conversion['stock']),
                    ('make_tfrecord.py', conversion['ours'])):
    rows.append(f'| {name} | {run.wall:.1f} | {run.cpu:.1f} | {num_files / run.wall:.1f} |')
  speedup = conversion['stock'].wall / conversion['ours'].wall
  return rows + ['', f'{num_files} MIDI files, {conversion["records"]} NoteSequences '
                 f'written by each; identical records (compared as sorted byte strings). '
                 f'Speedup {speedup:.2f}x.']


def training_table(results, peak, matmul_gflops):
  rows = ['| config | batch | variant | s/step | CPU s/step | examples/s | GFLOP/step '
          '| GFLOP/s | % of peak | % of MatMul | GFLOP/CPU-s | % of core peak | startup s '
          '| peak RSS MB | speedup |',
          '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: '
          '| ---: | ---: | ---: |']
  core_peak = peak / os.cpu_count()
  stock = {(r['config'], r['batch_size']): r for r in results if r['variant'] == 'stock'}
  for r in results:
    base = stock[(r['config'], r['batch_size'])]
    speedup = '' if r is base else (f'{base["seconds"] / r["seconds"]:.2f}x wall, '
                                    f'{base["cpu"] / r["cpu"]:.2f}x CPU')
    rows.append(f'| {r["config"]} | {r["batch_size"]} | {r["variant"]} | '
                f'{r["seconds"]:.2f} | {r["cpu"]:.2f} | {r["examples_per_s"]:.2f} | '
                f'{r["gflop"]:.0f} | {r["gflops"]:.1f} | {100 * r["gflops"] / peak:.1f} | '
                f'{100 * r["gflops"] / matmul_gflops:.0f} | '
                f'{r["gflop"] / r["cpu"]:.1f} | {100 * r["gflop"] / r["cpu"] / core_peak:.1f} | '
                f'{r["startup"]:.0f} | {r["max_rss_mb"]:.0f} | {speedup} |')
  return rows


def sampling_table(sampling):
  if sampling is None:
    return ['Not run yet.']
  return ['| config | grooves | load s | first call s | grooves/s (second call) | CPU s |',
          '| --- | ---: | ---: | ---: | ---: | ---: |',
          f'| hierdec-drums_4bar_small | {sampling["num_grooves"]} | {sampling["load"]:.1f} '
          f'| {sampling["first"][0]:.1f} | {sampling["grooves_per_s"]:.1f} '
          f'| {sampling["second"][1]:.1f} |']


def commands_section(argv, conversion, results, sampling):
  lines = ['```bash', ' '.join([os.path.relpath(PYTHON, REPO), 'benchmarks/benchmark.py'] + argv)]
  for run in (conversion['ours'], conversion['stock']):
    lines.append(' '.join(run.command))
  for r in results:
    env = ' '.join(f'{k}={v}' for k, v in r['env'].items())
    lines.append(f'{env} {" ".join(r["command"][:2])} \'{r["command"][2]}\'')
  if sampling:
    lines.append(f'{" ".join(sampling["command"][:2])} \'{sampling["command"][2]}\'')
  return lines + ['```']


def write_report(path, argv, machine, num_files, conversion, results, planned_runs,
                 sampling, minutes):
  peak = machine['peak_gflops']
  partial = ('' if len(results) == planned_runs else
             f' **Partial: {len(results)} of {planned_runs} training runs done.**')
  versions = ', '.join(f'{k} {v}' for k, v in machine['versions'].items())
  lines = [
      '# Benchmarks: this toolkit vs stock Magenta', '',
      f'Written by `benchmarks/benchmark.py` ({"quick" if FLAGS.quick else "full"} mode, '
      f'{minutes:.0f} min) on {time.strftime("%Y-%m-%d %H:%M")}.{partial}', '',
      '## Machine', '',
      f'- CPU: {machine["cpu"]}, {machine["cores"]} cores at {machine["mhz"]:.0f} MHz '
      f'(KVM guest; the clock is the one /proc/cpuinfo reports), '
      f'{machine["memory_gb"]:.0f} GB',
      f'- Load average (1, 5, 15 min) at start: '
      f'{", ".join(f"{x:.2f}" for x in machine["load_start"])}; at end: '
      f'{", ".join(f"{x:.2f}" for x in os.getloadavg())}. The machine is shared: wall '
      'times are noisy, CPU seconds (process CPU time of the child, all threads) less so.',
      f'- Python {machine["python"]}; {versions}', '',
      '## Conversion', '', *conversion_table(conversion, num_files), '',
      '## Training', '',
      f'Median of {FLAGS.measured_steps} steps after {FLAGS.warmup_steps} warm-up steps; '
      'a step is timed from one `after_run` to the next, so it includes the hooks and '
      'summary writing. **ours** = `train.py`\'s `train()` (oneDNN on, fast CPU LSTMs: MatMul cells, encoder input products hoisted out of the time loop, '
      'freed memory kept for reuse, examples converted once up front, Magenta\'s `train()`); **stock** = Magenta\'s `music_vae_train.train()` '
      'with `data.get_dataset` (only the unbatch workaround), `TF_ENABLE_ONEDNN_OPTS=0` '
      '(TensorFlow\'s default on AMD CPUs) and `DRUMVAE_KEEP_FREED_MEMORY=0` (glibc\'s malloc defaults). GFLOP/CPU-s divides by CPU time instead of '
      'wall time: it does not count time other jobs held the cores, and compares with '
      'the peak of one core. Startup = process start to the session being '
      'ready (imports, data, graph build). Speedup = stock / ours.', '',
      *training_table(results, peak, machine['matmul_gflops']), '',
      '### How FLOPs and peak are counted', '',
      '- FLOPs per step = 3 x forward MatMul FLOPs (the backward pass computes gradients '
      'of both inputs and weights: 2x the forward) x batch size. Forward, per example: '
      'each LSTM cell step costs 2 x (input + hidden) x 4 x hidden; the bidirectional '
      'encoder runs both directions over 64 steps (layer 1 input: the 10-wide drum roll, '
      'layer 2 input: both directions of layer 1); the decoder runs 64 steps with input '
      'previous output (512) + z (256, flat) or the conductor\'s embedding (hierarchical), '
      'plus the 512-way output layer; the hierarchical conductor runs 16 steps on a '
      'width-1 zero input. Element-wise ops and the small dense layers (z, initial '
      'states) are left out (MatMul is ~82% of op time in a profile).',
      f'- Peak = {machine["cores"]} cores x {FLOPS_PER_CYCLE_PER_CORE} FP32 FLOP/cycle x '
      f'{machine["mhz"]:.0f} MHz = {peak:.0f} GFLOP/s. Zen1 has two 128-bit FMA pipes '
      'per core (2 x 4 lanes x 2 flops); a 256-bit AVX2 FMA occupies both. Turbo clocks, '
      'if the host gives any, would raise it.',
      f'- MatMul = what one large float32 MatMul ({" x ".join(map(str, MATMUL_SHAPE))}, '
      f'oneDNN, best of 5 at the start and 5 at the end of the run) reaches on this machine: {machine["matmul_gflops"]:.0f} GFLOP/s. '
      'Above the nominal peak, the host runs the cores faster than /proc/cpuinfo says; '
      'this is the ceiling a training step could approach.', '',
      '## Sampling', '',
      f'`generate.py`\'s model loading (`TrainedModel`, batch 8 as `--max_batch_size`) and '
      f'`sample()` at temperature 0.5, from the checkpoint of the ours '
      f'hierdec-drums_4bar_small training run above (oneDNN on). Load = config, graph '
      f'and checkpoint; the first call also optimises the graph.', '',
      *sampling_table(sampling), '',
      '## Commands', '', *commands_section(argv, conversion, results, sampling), '']
  with open(path, 'w') as f:
    f.write('\n'.join(lines))
  return lines


# ---------------------------------------------------------------- main

def training_plan():
  configs = FLAGS.configs or (['hierdec-drums_4bar_small', 'flat-drums_4bar'] +
                              ([] if FLAGS.quick else ['hierdec-drums_4bar_large']))
  batch_sizes = [int(b) for b in FLAGS.batch_sizes or ([64] if FLAGS.quick else [64, 512])]
  return [(c, b) for b in batch_sizes for c in configs]


# Big enough for oneDNN's best blocking; the shape of a batched LSTM weight gradient.
MATMUL_SHAPE = (4096, 1536, 2048)


def child_matmul(job):
  """GFLOP/s of the best of 5 large float32 MatMuls: what this CPU really reaches."""
  del job
  from drumvae import tf_env  # pylint: disable=g-import-not-at-top
  tf_env.setup_tensorflow()
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  m, k, n = MATMUL_SHAPE
  with tf.Graph().as_default():
    a, b = tf.Variable(tf.random.normal([m, k])), tf.Variable(tf.random.normal([k, n]))
    product = tf.matmul(a, b)
    with tf.Session() as session:
      session.run(tf.global_variables_initializer())
      session.run(product.op)
      seconds = []
      for _ in range(5):
        start = time.monotonic()
        session.run(product.op)
        seconds.append(time.monotonic() - start)
  return {'gflops': 2 * m * k * n / min(seconds) / 1e9}


def matmul_gflops(log_name):
  return run_command(child_command({'job': 'matmul'}), os.path.join(FLAGS.work_dir, log_name),
                     {'TF_ENABLE_ONEDNN_OPTS': '1'}).result['gflops']


def run_all(argv):
  start = time.monotonic()
  machine = machine_info()
  shutil.rmtree(FLAGS.work_dir, ignore_errors=True)
  os.makedirs(os.path.join(FLAGS.work_dir, 'runs'))
  machine['matmul_gflops'] = matmul_gflops('matmul_start.log')
  input_dir, num_files = (midi_subset(FLAGS.groove_dir, FLAGS.quick_files, FLAGS.work_dir)
                          if FLAGS.quick else
                          (FLAGS.groove_dir, len(midi_paths(FLAGS.groove_dir))))
  print(f'conversion of {num_files} files', flush=True)
  conversion = benchmark_conversion(input_dir, FLAGS.work_dir)
  plan = training_plan()
  results, sampling = [], None
  for config, batch_size in plan:
    for variant in ('stock', 'ours'):
      print(f'training {config} batch {batch_size} {variant}', flush=True)
      results.append(benchmark_training(config, batch_size, variant,
                                        conversion['examples_path'], FLAGS.work_dir))
      # Rewritten after each run, so an interrupted benchmark leaves its figures.
      lines = write_report(FLAGS.output_md, argv, machine, num_files, conversion,
                           results, 2 * len(plan), sampling,
                           (time.monotonic() - start) / 60)
    if sampling is None:  # from the first ours checkpoint: hierdec small, batch 64
      print('sampling', flush=True)
      sampling = benchmark_sampling(results[-1]['run_dir'], FLAGS.work_dir)
  # Measured again at the end: on a shared host one measurement can catch a busy moment.
  machine['matmul_gflops'] = max(machine['matmul_gflops'], matmul_gflops('matmul_end.log'))
  lines = write_report(FLAGS.output_md, argv, machine, num_files, conversion, results,
                       2 * len(plan), sampling, (time.monotonic() - start) / 60)
  print('\n'.join(lines[lines.index('## Conversion'):lines.index('### How FLOPs and peak are counted')]))
  print('\n'.join(sampling_table(sampling)))
  print(f'wrote {FLAGS.output_md}')


def main(argv):
  if FLAGS.child:
    sys.path.insert(0, REPO)
    job = json.loads(FLAGS.child)
    result = {'train': child_train, 'sample': child_sample,
              'matmul': child_matmul}[job['job']](job)
    print('RESULT ' + json.dumps(result), flush=True)
  else:
    run_all(sys.argv[1:])


START = time.monotonic()

if __name__ == '__main__':
  app.run(main)

"""Benchmarks this toolkit against stock Magenta, side by side, and writes BENCHMARKS.md.

  .venv/bin/python benchmarks/benchmark.py --quick   # ~20-30 min on 2 cores
  .venv/bin/python benchmarks/benchmark.py           # adds batch 512 and the large config

Three jobs, each run both ways on the same machine and the same data:
  conversion  make_tfrecord.py vs Magenta's convert_dir_to_note_sequences; the two
              tfrecords must hold the same NoteSequences.
  training    train.py's train() (oneDNN on, examples converted once up front; float32,
              and bfloat16 products where the CPU has them)
              vs Magenta's music_vae_train.train() fed by data.get_dataset (only the
              unbatch workaround) with TensorFlow's defaults, as a user of stock
              Magenta runs it (TensorFlow turns oneDNN on by itself on some CPUs; the
              report says whether on this one), and again with oneDNN off.
  profile     where the time of each config and batch size's fastest step goes
              (benchmarks/profile_step.py: TensorFlow's per-op trace).
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
import re
import resource
import shlex
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
# Written into --work_dir: only a directory holding it is ever emptied.
WORK_DIR_MARKER = '.drumvae_benchmark'

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
    'measured_steps', 5,
    'Training steps measured after the warm-up; the median is reported. Flat stock '
    'at batch 512 takes ~35 s a step on 2 cores.', lower_bound=1)
flags.DEFINE_list(
    'configs', None,
    'Configs to train (default: hierdec-drums_4bar_small, flat-drums_4bar and '
    'hierdec-drums_4bar_cpu, plus hierdec-drums_4bar_large unless --quick).')
flags.DEFINE_list(
    'batch_sizes', None, 'Batch sizes to train at (default: 64 and 512; 64 with --quick).')
flags.DEFINE_integer(
    'sample_grooves', 64, 'Number of grooves sampled in the sampling job.', lower_bound=1)
flags.DEFINE_string(
    'work_dir', '/tmp/drumvae_benchmark',
    'Scratch directory for tfrecords, run directories and child logs. It must be new, '
    'empty or made by an earlier run of this script (which leaves a '
    f'{WORK_DIR_MARKER} file in it); such a directory is emptied first.')
flags.DEFINE_string(
    'output_md', os.path.join(REPO, 'BENCHMARKS.md'), 'The report to write.')
flags.DEFINE_list(
    'precisions', None,
    'Precisions of the ours runs (train.py --precision): default float32, plus bfloat16 '
    'where the CPU multiplies it natively (avx512_bf16 or amx_bf16).')
flags.DEFINE_string(
    'child', None, 'Internal: run one job (JSON) in this process and print its RESULT.')

FLAGS = flags.FLAGS

# name: (encoder layer sizes, decoder layer sizes, hierarchical decoder?)
CONFIGS = {
    'flat-drums_4bar': ([1024, 1024], [512, 512], False),
    'hierdec-drums_4bar_small': ([512, 512], [256, 256], True),
    'hierdec-drums_4bar_large': ([1024, 1024], [512, 512], True),
    'hierdec-drums_4bar_cpu': ([128, 128], [64, 64], True),
}
STEPS, BEATS = 64, 16  # 4 bars of sixteenths; the conductor runs once a beat
INPUT_DEPTH, OUTPUT_DEPTH, Z_SIZE = 10, 512, 256  # 9-drum roll + "no hit"; 2^9 patterns
# The /proc/cpuinfo flags the report lists: the vector and matrix instructions
# oneDNN and Eigen choose their MatMul kernels by. No peak is derived from them
# (FLOP/cycle also depends on how many vector units a core has and how wide);
# the ceiling reported is a MatMul measured in the same run.
CPU_FLAGS = ('avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'avx512_fp16',
             'avx_vnni', 'amx_tile', 'amx_bf16')
# Each training variant's environment; None removes a variable. stock: what a
# user of stock Magenta gets; stock-onednn-off: as on CPUs where TensorFlow
# leaves oneDNN off; ours: drumvae.runtime's settings.
VARIANT_ENVIRONMENTS = {
    'stock': {'TF_ENABLE_ONEDNN_OPTS': None, 'DRUMVAE_KEEP_FREED_MEMORY': '0'},
    'stock-onednn-off': {'TF_ENABLE_ONEDNN_OPTS': '0', 'DRUMVAE_KEEP_FREED_MEMORY': '0'},
    'ours': {'TF_ENABLE_ONEDNN_OPTS': '1', 'DRUMVAE_KEEP_FREED_MEMORY': '1'},
}


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

def cpu_info(path='/proc/cpuinfo'):
  """The CPU as /proc/cpuinfo describes it, or only platform.processor() off Linux."""
  info = {'cpu': platform.processor() or 'unknown', 'source': 'platform.processor()',
          'cores': None, 'mhz': None, 'flags': None, 'virtual': None}
  if not os.path.exists(path):
    return info
  cores, flags_seen, socket = set(), set(), None
  with open(path) as f:
    for line in f:
      key, _, value = (part.strip() for part in line.partition(':'))
      if key == 'model name':
        info['cpu'] = value
      elif key == 'cpu MHz' and info['mhz'] is None:
        info['mhz'] = float(value)
      elif key == 'physical id':
        socket = value
      elif key == 'core id':
        cores.add((socket, value))
      elif key == 'flags':
        flags_seen = set(value.split())
  info.update(source=path, cores=len(cores) or None, virtual='hypervisor' in flags_seen,
              flags=[name for name in CPU_FLAGS if name in flags_seen])
  return info


def machine_info():
  """Facts about this machine read at run time; the MatMul ceiling is added by run_all."""
  versions = {name: importlib.metadata.version(name) for name in
              ('tensorflow-cpu', 'tf-keras', 'magenta', 'note-seq', 'tf-slim')}
  from drumvae import midi_corpus  # pylint: disable=g-import-not-at-top
  return {**cpu_info(), 'cpus': os.cpu_count(), 'usable_cpus': midi_corpus.available_cpus(),
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
  """Runs `command`, logging its output; returns a Run with its RESULT line if any.

  `env` adds to this process's environment; a variable set to None is removed.
  """
  env = {**os.environ, **(env or {})}
  before = resource.getrusage(resource.RUSAGE_CHILDREN)
  start = time.monotonic()
  with open(log_path, 'w') as log:
    process = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                             env={k: v for k, v in env.items() if v is not None}, cwd=REPO)
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


def add_hook_to_stock_training(hook):
  """Adds `hook` to stock Magenta's training loop, at the seam its train() calls:
  tf_slim's train(). (Ours takes extra hooks: train_ours.)"""
  import tf_slim  # pylint: disable=g-import-not-at-top
  magenta_tf_slim_train = tf_slim.training.train

  def train_with_hook(*args, **kwargs):
    kwargs['hooks'] = list(kwargs.get('hooks') or []) + [hook]
    return magenta_tf_slim_train(*args, **kwargs)

  tf_slim.training.train = train_with_hook


def train_ours(job, hook):
  import configs  # pylint: disable=g-import-not-at-top,unused-import
  from drumvae import training  # pylint: disable=g-import-not-at-top
  training.train(training.Options(
      run_dir=job['run_dir'], config=job['config'],
      hparams=f'batch_size={job["batch_size"]}',
      examples_path=job['examples_path'], num_steps=job['num_steps'],
      progress_secs=0, precision=job['precision']), extra_hooks=[hook])


def train_stock(job):
  import configs  # pylint: disable=g-import-not-at-top
  from drumvae import models  # pylint: disable=g-import-not-at-top
  from drumvae import runtime  # pylint: disable=g-import-not-at-top
  from magenta.models.music_vae import music_vae_train  # pylint: disable=g-import-not-at-top
  config = models.get_config(job['config'], f'batch_size={job["batch_size"]}')
  config = config._replace(train_examples_path=job['examples_path'])
  music_vae_train.train(
      os.path.join(job['run_dir'], 'train'), config,
      lambda: runtime.magenta_dataset(config, is_training=True),
      num_steps=job['num_steps'])


def child_train(job):
  from drumvae import runtime  # pylint: disable=g-import-not-at-top
  runtime.setup()
  if job['variant'] == 'stock':  # setup() sets it where the environment does not
    os.environ.pop('TF_ENABLE_ONEDNN_OPTS', None)
  else:
    runtime.use_training_threads()  # as train.py does
  runtime.load_tensorflow(fast_lstms=job['variant'] == 'ours')
  records = []
  hook = step_timer(records)
  if job['variant'] == 'ours':
    train_ours(job, hook)
  else:
    add_hook_to_stock_training(hook)
    train_stock(job)
  return {'steps': records, 'startup': hook.startup,
          'max_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def child_profile(job):
  import profile_step  # pylint: disable=g-import-not-at-top  (benchmarks/, beside this file)
  trace = profile_step.profile(job['config'], job['batch_size'], job['precision'],
                               job['examples_path'], job['warmup_steps'], job['traced_steps'])
  return {'by_kind': dict(trace.by_kind), 'by_part': dict(trace.by_part), 'wall': trace.wall}


def child_sample(job):
  from drumvae import runtime  # pylint: disable=g-import-not-at-top
  runtime.setup()
  runtime.load_tensorflow()
  import configs  # pylint: disable=g-import-not-at-top,unused-import
  from drumvae import models  # pylint: disable=g-import-not-at-top
  start = time.monotonic()
  found = models.find_model(run_dir=job['run_dir'])
  config = found.config
  model = models.load_model(config, found.checkpoint, job['batch_size'], found.description)
  load = time.monotonic() - start
  timings = []
  for _ in range(2):  # the first call also optimises the sampling graph
    start, cpu = time.monotonic(), time.process_time()
    model.sample(n=job['num_grooves'], length=config.hparams.max_seq_len,
                 temperature=0.5)
    timings.append((time.monotonic() - start, time.process_time() - cpu))
  return {'load': load, 'first': timings[0], 'second': timings[1]}


# ---------------------------------------------------------------- training (parent side)

def benchmark_training(config, batch_size, variant, precision, examples_path, work_dir):
  run_dir = os.path.join(work_dir, 'runs', f'{variant}_{precision}_{config}_{batch_size}')
  job = {'job': 'train', 'variant': variant, 'config': config, 'batch_size': batch_size,
         'examples_path': examples_path, 'run_dir': run_dir, 'precision': precision,
         'num_steps': FLAGS.warmup_steps + FLAGS.measured_steps}
  env = VARIANT_ENVIRONMENTS[variant]
  run = run_command(child_command(job), run_dir + '.log', env)
  measured = run.result['steps'][FLAGS.warmup_steps:]
  seconds = statistics.median(wall for wall, _ in measured)
  gflop = train_step_flops(config, batch_size) / 1e9
  return {'config': config, 'batch_size': batch_size, 'variant': variant,
          'precision': precision, 'run_dir': run_dir, 'command': run.command, 'env': env,
          'seconds': seconds, 'cpu': statistics.median(cpu for _, cpu in measured),
          'examples_per_s': batch_size / seconds, 'gflop': gflop,
          'gflops': gflop / seconds, 'startup': run.result['startup'],
          'max_rss_mb': run.result['max_rss_mb'], 'steps': run.result['steps']}


# Steps before the trace (start-up, graph optimisation, the hooks' re-optimisation), and traced.
PROFILE_WARMUP_STEPS, PROFILE_TRACED_STEPS = 3, 2


def benchmark_profile(config, batch_size, precision, examples_path, work_dir):
  job = {'job': 'profile', 'config': config, 'batch_size': batch_size,
         'precision': precision, 'examples_path': examples_path,
         'warmup_steps': PROFILE_WARMUP_STEPS, 'traced_steps': PROFILE_TRACED_STEPS}
  run = run_command(child_command(job),
                    os.path.join(work_dir, f'profile_{precision}_{config}_{batch_size}.log'),
                    VARIANT_ENVIRONMENTS['ours'])
  return {**run.result, 'config': config, 'batch_size': batch_size, 'precision': precision}


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


def training_table(results, matmul):
  rows = ['| config | batch | variant | precision | s/step | steps/s | CPU s/step | examples/s '
          '| GFLOP/step | GFLOP/s | % of MatMul | % of bfloat16 MatMul | GFLOP/CPU-s '
          '| % of MatMul\'s GFLOP/CPU-s | startup s | peak RSS MB | speedup | vs oneDNN off |',
          '| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: '
          '| ---: | ---: | ---: | ---: | ---: | ---: |']
  baselines = {(r['variant'], r['config'], r['batch_size']): r for r in results}
  bfloat16 = matmul.get('bfloat16')

  def speedup(r, variant):
    base = baselines.get((variant, r['config'], r['batch_size']))
    if base is None or base is r:
      return ''
    return f'{base["seconds"] / r["seconds"]:.2f}x wall, {base["cpu"] / r["cpu"]:.2f}x CPU'

  for r in results:
    per_cpu_s = r['gflop'] / r['cpu']
    ceiling = matmul[r['precision']]
    of_bfloat16 = f'{100 * r["gflops"] / bfloat16["gflops"]:.0f}' if bfloat16 else ''
    rows.append(f'| {r["config"]} | {r["batch_size"]} | {r["variant"]} | {r["precision"]} | '
                f'{r["seconds"]:.2f} | {1 / r["seconds"]:.2f} | {r["cpu"]:.2f} | '
                f'{r["examples_per_s"]:.2f} | {r["gflop"]:.0f} | {r["gflops"]:.1f} | '
                f'{100 * r["gflops"] / ceiling["gflops"]:.0f} | {of_bfloat16} | '
                f'{per_cpu_s:.1f} | {100 * per_cpu_s / ceiling["gflop_per_cpu_s"]:.0f} | '
                f'{r["startup"]:.0f} | {r["max_rss_mb"]:.0f} | {speedup(r, "stock")} | '
                f'{speedup(r, "stock-onednn-off") if r["variant"] == "ours" else ""} |')
  return rows


# Rows of the profile tables: the parts of a step, and the op kinds that take most.
PROFILE_OP_ROWS = 8


def profile_tables(profiles):
  """Two tables, a column per profiled run: shares of op time by part and by op kind."""
  if not profiles:
    return ['Not run yet.']
  heads = [f'{p["config"]} {p["batch_size"]} {p["precision"]}' for p in profiles]
  header = ['| | ' + ' | '.join(heads) + ' |', '| --- |' + ' ---: |' * len(profiles)]

  def rows(key, names):
    lines = []
    for name in names:
      shares = [p[key].get(name, 0) / sum(p[key].values()) for p in profiles]
      lines.append(f'| {name} | ' + ' | '.join(f'{share:.1%}' for share in shares) + ' |')
    return lines

  parts = sorted({part for p in profiles for part in p['by_part']},
                 key=lambda part: -sum(p['by_part'].get(part, 0) for p in profiles))
  kinds = sorted({kind for p in profiles for kind in p['by_kind']},
                 key=lambda kind: -max(p['by_kind'].get(kind, 0) / sum(p['by_kind'].values())
                                       for p in profiles))[:PROFILE_OP_ROWS]
  rest = []
  for p in profiles:
    total = sum(p['by_kind'].values())
    rest.append(1 - sum(p['by_kind'].get(kind, 0) for kind in kinds) / total)
  walls = ' | '.join(f'{statistics.median(p["wall"]):.2f}' for p in profiles)
  return [*header, *rows('by_part', parts), '', *header, *rows('by_kind', kinds),
          '| (all other ops) | ' + ' | '.join(f'{share:.1%}' for share in rest) + ' |',
          f'| traced step, s (wall) | {walls} |']


def sampling_table(sampling):
  if sampling is None:
    return ['Not run yet.']
  return ['| config | grooves | load s | first call s | grooves/s (second call) | CPU s |',
          '| --- | ---: | ---: | ---: | ---: | ---: |',
          f'| hierdec-drums_4bar_small | {sampling["num_grooves"]} | {sampling["load"]:.1f} '
          f'| {sampling["first"][0]:.1f} | {sampling["grooves_per_s"]:.1f} '
          f'| {sampling["second"][1]:.1f} |']


def shown(text):
  """`text` with this machine's paths replaced: $WORK_DIR, $GROOVE_DIR, repo-relative."""
  in_repo = PYTHON.startswith(REPO + os.sep)
  replacements = {PYTHON: os.path.relpath(PYTHON, REPO) if in_repo else
                  os.path.basename(PYTHON), REPO + os.sep: ''}
  for name, path in (('$WORK_DIR', FLAGS.work_dir), ('$GROOVE_DIR', FLAGS.groove_dir)):
    replacements[os.path.abspath(path)] = name
  for old in sorted(replacements, key=len, reverse=True):  # $WORK_DIR may be in the repo
    text = text.replace(old, replacements[old])
  return text


SHELL_SAFE = re.compile(r'[\w@%+=:,./$-]*')


def shell_word(word):
  """`word` quoted for bash, leaving only $GROOVE_DIR and $WORK_DIR to expand."""
  if '$' not in word:
    return shlex.quote(word)
  escaped = re.sub(r'(["\\`]|\$(?!GROOVE_DIR|WORK_DIR))', r'\\\1', word)
  return word if escaped == word and SHELL_SAFE.fullmatch(word) else f'"{escaped}"'


def commands_section(argv, conversion, results, sampling):
  commands = [[PYTHON, os.path.abspath(__file__), *argv],
              conversion['ours'].command, conversion['stock'].command]
  for r in results:
    unset = [k for k, v in r['env'].items() if v is None]
    commands.append((['env'] + [f'-u{k}' for k in unset] if unset else []) +
                    [f'{k}={v}' for k, v in r['env'].items() if v is not None] + r['command'])
  if sampling:
    commands.append(sampling['command'])
  return [f'From the repository root; `$GROOVE_DIR` stands for `--groove_dir` and '
          f'`$WORK_DIR` for `--work_dir` (default {FLAGS["work_dir"].default}).', '',
          '```bash', *(' '.join(shell_word(shown(word)) for word in command)
                       for command in commands), '```']


def run_description(num_files, plan):
  """What ran: the MIDI files converted, the configs and the batch sizes trained."""
  configs = list(dict.fromkeys(config for config, _ in plan))
  batch_sizes = list(dict.fromkeys(str(batch_size) for _, batch_size in plan))
  files = f'quick ({num_files} files)' if FLAGS.quick else f'all {num_files} Groove MIDI files'
  return (f'{files}; {", ".join(configs)}; batch size{"s" * (len(batch_sizes) > 1)} '
          f'{", ".join(batch_sizes)}')


def load_text(loads):
  return ', '.join(f'{x:.2f}' for x in loads)


def machine_lines(machine):
  """The Machine section: the CPU and flags this run read, and its MatMul ceiling."""
  cpus = f'{machine["cpus"]} logical CPUs'
  if machine['cores']:
    cpus += f' on {machine["cores"]} cores'
  if machine['usable_cpus'] != machine['cpus']:
    cpus += f', {machine["usable_cpus"]} of them usable by this process'
  cpu = [f'{machine["cpu"]} (as {machine["source"]} names it)', cpus]
  if machine['mhz']:
    cpu.append(f'{machine["mhz"]:.0f} MHz as /proc/cpuinfo reports it')
  if machine['virtual']:
    cpu.append('a virtual machine (hypervisor flag)')
  if machine['flags'] is None:
    flags_line = 'CPU flags: not read (no /proc/cpuinfo)'
  else:
    absent = [name for name in CPU_FLAGS if name not in machine['flags']]
    flags_line = (f'CPU flags (of {", ".join(CPU_FLAGS)}): '
                  f'{", ".join(machine["flags"]) or "none"}; absent: {", ".join(absent) or "none"}')
  onednn = 'on' if machine['onednn_default'] else 'off'
  versions = ', '.join(f'{k} {v}' for k, v in machine['versions'].items())
  ceilings = '; '.join(
      f'{precision} {ceiling["gflops"]:.0f} GFLOP/s, {ceiling["gflop_per_cpu_s"]:.1f} GFLOP '
      'per CPU-second' for precision, ceiling in machine['matmul'].items())
  return [
      f'- CPU: {", ".join(cpu)}; {machine["memory_gb"]:.0f} GB memory',
      f'- {flags_line}',
      f'- TensorFlow\'s own oneDNN setting on this CPU (`TF_ENABLE_ONEDNN_OPTS` unset): {onednn}',
      f'- MatMul ceiling measured in this run: {ceilings} (see below)',
      f'- Load average (1, 5, 15 min) at start: {load_text(machine["load_start"])}; at end: '
      f'{load_text(os.getloadavg())}. The machine is shared: wall times are noisy, CPU seconds '
      '(process CPU time of the child, all threads) less so.',
      f'- Python {machine["python"]}; {versions}']


def write_report(path, argv, machine, num_files, conversion, results, profiles, plan,
                 sampling, minutes):
  runs = len(plan) * len(variants())
  partial = ('' if len(results) == runs else
             f' **Partial: {len(results)} of {runs} training runs done.**')
  onednn = 'on' if machine['onednn_default'] else 'off'
  lines = [
      '# Benchmarks: this toolkit vs stock Magenta', '',
      f'Written by `benchmarks/benchmark.py` on {time.strftime("%Y-%m-%d %H:%M")} '
      f'({minutes:.0f} min): {run_description(num_files, plan)}.{partial}', '',
      '## Machine', '', *machine_lines(machine), '',
      '## Conversion', '', *conversion_table(conversion, num_files), '',
      '## Training', '',
      f'Median of {FLAGS.measured_steps} steps after {FLAGS.warmup_steps} warm-up steps; '
      'a step is timed from one `after_run` to the next, so it includes the hooks and '
      'summary writing. **ours** = `train.py`\'s `train()` (oneDNN on, each op on half the cores '
      '(`TF_NUM_INTRAOP_THREADS`), fast CPU LSTMs: MatMul '
      'cells, encoder input products hoisted out of the time loop, freed memory kept for '
      'reuse, examples converted once up front, Magenta\'s `train()`); **stock** = Magenta\'s '
      '`music_vae_train.train()` with `data.get_dataset` (only the unbatch workaround) and '
      'TensorFlow\'s defaults, as a user of stock Magenta runs it: `TF_ENABLE_ONEDNN_OPTS` '
      f'unset (TensorFlow\'s own setting on this CPU: oneDNN {onednn}) and glibc\'s malloc '
      'defaults; **stock-onednn-off** = the same with `TF_ENABLE_ONEDNN_OPTS=0`, as '
      'TensorFlow runs on CPUs where it leaves oneDNN off. Speedup = stock / ours; '
      'vs oneDNN off = stock-onednn-off / ours. GFLOP/CPU-s divides by '
      'CPU time instead of wall time: it does not count time other jobs held the cores, and '
      'compares with the MatMul\'s GFLOP per CPU-second. Startup = process start to the '
      'session being ready (imports, data, graph build). '
      'Precision = `train.py --precision`: bfloat16 products of the LSTMs and the output '
      'layer, float32 weights, state and loss; stock is float32. % of MatMul compares '
      'with the MatMul ceiling of the same precision, % of bfloat16 MatMul with the '
      'bfloat16 one (where this CPU multiplies bfloat16 natively).', '',
      *training_table(results, machine['matmul']), '',
      '### How FLOPs and the MatMul ceiling are counted', '',
      '- FLOPs per step = 3 x forward MatMul FLOPs (the backward pass computes gradients '
      'of both inputs and weights: 2x the forward) x batch size. Forward, per example: '
      'each LSTM cell step costs 2 x (input + hidden) x 4 x hidden; the bidirectional '
      'encoder runs both directions over 64 steps (layer 1 input: the 10-wide drum roll, '
      'layer 2 input: both directions of layer 1); the decoder runs 64 steps with input '
      'previous output (512) + z (256, flat) or the conductor\'s embedding (hierarchical), '
      'plus the 512-way output layer; the hierarchical conductor runs 16 steps on a '
      'width-1 zero input. Element-wise ops and the small dense layers (z, initial '
      'states) are left out (the profile below gives MatMul\'s share of op time).',
      f'- MatMul = what one large MatMul ({" x ".join(map(str, MATMUL_SHAPE))}, float32 '
      'and, where measured, bfloat16 inputs; oneDNN on, all usable CPUs) reaches on this machine, measured 5 times at the start '
      'and 5 times at the end of the run: the best wall time gives GFLOP/s, the least '
      'process CPU time GFLOP per CPU-second. This is the ceiling a training step could '
      'approach. No theoretical peak is given: FLOPs per cycle depend on how many vector '
      'units a core has and how wide they are, which the CPU flags do not tell.', '',
      '## Where a step\'s time goes', '',
      f'`benchmarks/profile_step.py`\'s per-op trace (TensorFlow\'s `RunOptions.FULL_TRACE`) '
      f'of {PROFILE_TRACED_STEPS} ours steps after {PROFILE_WARMUP_STEPS} untraced ones, in '
      'the fastest precision, for each config and batch size above: the share of op time '
      '(summed over ops, which run in parallel on both cores) in each part of the step and '
      'in the op kinds that take most. `_MklMatMul` and `_MklNativeFusedMatMul` are oneDNN\'s '
      'MatMuls; backward ops are those TensorFlow names under `gradients/`. Tracing costs '
      'time per op, so a traced step is slower than the untraced steps above and '
      'small element-wise ops weigh more in it.', '',
      *profile_tables(profiles), '',
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
  configs = FLAGS.configs or (['hierdec-drums_4bar_small', 'flat-drums_4bar',
                               'hierdec-drums_4bar_cpu'] +
                              ([] if FLAGS.quick else ['hierdec-drums_4bar_large']))
  batch_sizes = [int(b) for b in FLAGS.batch_sizes or ([64] if FLAGS.quick else [64, 512])]
  return [(c, b) for b in batch_sizes for c in configs]


# Big enough for oneDNN's best blocking; the shape of a batched LSTM weight gradient.
MATMUL_SHAPE = (4096, 1536, 2048)


def child_matmul(job):
  """GFLOP/s and GFLOP per CPU-second of 5 large MatMuls (best of each) in job's precision."""
  from drumvae import runtime  # pylint: disable=g-import-not-at-top
  runtime.setup()
  runtime.load_tensorflow(fast_lstms=False)
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  m, k, n = MATMUL_SHAPE
  with tf.Graph().as_default():
    a, b = (tf.Variable(tf.cast(tf.random.normal(shape), job['precision']))
            for shape in ([m, k], [k, n]))
    product = tf.matmul(a, b)
    with tf.Session() as session:
      session.run(tf.global_variables_initializer())
      session.run(product.op)
      seconds, cpu_seconds = [], []
      for _ in range(5):
        start, cpu = time.monotonic(), time.process_time()
        session.run(product.op)
        seconds.append(time.monotonic() - start)
        cpu_seconds.append(time.process_time() - cpu)
  gflop = 2 * m * k * n / 1e9
  return {'gflops': gflop / min(seconds), 'gflop_per_cpu_s': gflop / min(cpu_seconds)}


def child_onednn_default(job):
  """Whether TensorFlow turns oneDNN on by itself on this CPU.

  Run with TF_ENABLE_ONEDNN_OPTS unset and without importing drumvae, which sets it.
  """
  del job
  # TensorFlow's own tests ask the same private function (test_util.IsMklEnabled).
  from tensorflow.python.util import _pywrap_util_port  # pylint: disable=g-import-not-at-top
  return {'onednn_default': bool(_pywrap_util_port.IsMklEnabled())}


def matmul_ceilings(when):
  """{precision: ceiling} for each precision the ours runs use."""
  return {precision: run_command(
      child_command({'job': 'matmul', 'precision': precision}),
      os.path.join(FLAGS.work_dir, f'matmul_{precision}_{when}.log'),
      {'TF_ENABLE_ONEDNN_OPTS': '1'}).result for precision in precisions()}


def precisions():
  if FLAGS.precisions:
    return FLAGS.precisions
  from drumvae import runtime  # pylint: disable=g-import-not-at-top  (TF-free)
  return ['float32'] + (['bfloat16'] if runtime.native_bfloat16_flags() else [])


def variants():
  """(variant, precision) of the training runs of each config and batch size."""
  return ([('stock', 'float32'), ('stock-onednn-off', 'float32')] +
          [('ours', precision) for precision in precisions()])


def onednn_default():
  return run_command(child_command({'job': 'onednn_default'}),
                     os.path.join(FLAGS.work_dir, 'onednn_default.log'),
                     {'TF_ENABLE_ONEDNN_OPTS': None}).result['onednn_default']


def prepare_work_dir(work_dir):
  """Empties work_dir if an earlier run made it, or creates it; refuses anything else."""
  marker = os.path.join(work_dir, WORK_DIR_MARKER)
  if os.path.lexists(work_dir) and not os.path.isdir(work_dir):
    sys.exit(f'benchmark.py: error: --work_dir={work_dir}: not a directory')
  if os.path.isdir(work_dir) and os.listdir(work_dir):
    if not os.path.isfile(marker):
      sys.exit(f'benchmark.py: error: --work_dir={work_dir}: not empty and not made by '
               f'this script (no {WORK_DIR_MARKER} file); remove it or give another directory')
    for entry in os.scandir(work_dir):  # the contents only: work_dir may be a symlink
      if entry.is_dir(follow_symlinks=False):
        shutil.rmtree(entry.path)
      else:
        os.remove(entry.path)
  os.makedirs(os.path.join(work_dir, 'runs'), exist_ok=True)
  with open(marker, 'w') as f:
    f.write('Scratch directory of benchmarks/benchmark.py; its next run empties it.\n')


def run_all(argv):
  # Absolute, because the children run in the repository root.
  FLAGS.work_dir, FLAGS.groove_dir = map(os.path.abspath, (FLAGS.work_dir, FLAGS.groove_dir))
  prepare_work_dir(FLAGS.work_dir)
  start = time.monotonic()
  machine = machine_info()
  machine['onednn_default'] = onednn_default()
  machine['matmul'] = matmul_ceilings('start')
  input_dir, num_files = (midi_subset(FLAGS.groove_dir, FLAGS.quick_files, FLAGS.work_dir)
                          if FLAGS.quick else
                          (FLAGS.groove_dir, len(midi_paths(FLAGS.groove_dir))))
  print(f'conversion of {num_files} files', flush=True)
  conversion = benchmark_conversion(input_dir, FLAGS.work_dir)
  plan = training_plan()
  results, profiles, sampling = [], [], None
  for config, batch_size in plan:
    for variant, precision in variants():
      print(f'training {config} batch {batch_size} {variant} {precision}', flush=True)
      results.append(benchmark_training(config, batch_size, variant, precision,
                                        conversion['examples_path'], FLAGS.work_dir))
      # Rewritten after each run, so an interrupted benchmark leaves its figures.
      lines = write_report(FLAGS.output_md, argv, machine, num_files, conversion,
                           results, profiles, plan, sampling, (time.monotonic() - start) / 60)
    print(f'profiling {config} batch {batch_size} {precisions()[-1]}', flush=True)
    profiles.append(benchmark_profile(config, batch_size, precisions()[-1],
                                      conversion['examples_path'], FLAGS.work_dir))
    if sampling is None:  # from the first ours checkpoint: hierdec small, batch 64
      print('sampling', flush=True)
      sampling = benchmark_sampling(results[-1]['run_dir'], FLAGS.work_dir)
  # Measured again at the end: on a shared host one measurement can catch a busy moment.
  end = matmul_ceilings('end')
  machine['matmul'] = {precision: {key: max(value, end[precision][key])
                                   for key, value in ceiling.items()}
                       for precision, ceiling in machine['matmul'].items()}
  lines = write_report(FLAGS.output_md, argv, machine, num_files, conversion, results,
                       profiles, plan, sampling, (time.monotonic() - start) / 60)
  print('\n'.join(lines[lines.index('## Conversion'):
                        lines.index('### How FLOPs and the MatMul ceiling are counted')]))
  print('\n'.join(sampling_table(sampling)))
  print(f'wrote {FLAGS.output_md}')


def main(argv):
  if FLAGS.child:
    job = json.loads(FLAGS.child)
    result = {'train': child_train, 'profile': child_profile, 'sample': child_sample,
              'matmul': child_matmul, 'onednn_default': child_onednn_default}[job['job']](job)
    print('RESULT ' + json.dumps(result), flush=True)
  else:
    run_all(sys.argv[1:])


START = time.monotonic()

if __name__ == '__main__':
  app.run(main)

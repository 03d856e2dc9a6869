"""MIDI files -> NoteSequences, as Magenta's convert_dir_to_note_sequences makes them.

`convert_midi_file(root_dir, relative_path)` gives the NoteSequence that
`magenta.scripts.convert_dir_to_note_sequences.convert_midi` gives for the same
file (notes, filename, collection_name, id), but instead of logging and
returning None it says why a file was skipped. It also skips files without
drum notes, which that converter keeps, and (as corrupt) files whose ticks run
past MAX_TICKS, which would exhaust memory. It imports only note_seq, not
TensorFlow, so it runs cheaply in worker processes.
"""
from __future__ import annotations

import dataclasses
import enum
import hashlib
import io
import os
import typing
import warnings
from typing import Optional

from drumvae.cli import UserError

if typing.TYPE_CHECKING:
  from note_seq.protobuf import music_pb2

# pretty_midi allocates an 8-byte float per MIDI tick up to a file's last tick;
# note_seq lifts pretty_midi's own limit (10^7) to 10^10, so a 64-byte file
# with one huge delta time could ask for 80 GB. 2^25 ticks (256 MiB) is still
# 4.8 hours at 960 ticks a quarter note and 120 qpm.
MAX_TICKS = 2**25
MIDI_SUFFIXES = ('.mid', '.midi')
# MusicVAE's drum models: 4-bar grooves of 16th notes, in 4/4.
BARS = 4
STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 4 * STEPS_PER_QUARTER
DEFAULT_QPM = 120.0  # note_seq's tempo for a NoteSequence without one


class SkipReason(enum.Enum):
  """Why a file was not converted; the value is what the user is shown."""
  NOT_A_FILE = 'not a regular file'
  UNREADABLE = 'unreadable'
  EMPTY = 'empty file'
  NOT_MIDI = 'not a MIDI file'
  TRUNCATED = 'truncated MIDI file'
  CORRUPT = 'corrupt MIDI data'
  NO_DRUMS = 'no drum notes (drums must be on MIDI channel 10, i.e. is_drum)'


@dataclasses.dataclass(frozen=True)
class MidiConversion:
  """The outcome for one file: a `sequence`, or a `skip_reason` and `detail`."""
  relative_path: str
  sequence: Optional[music_pb2.NoteSequence] = None
  skip_reason: Optional[SkipReason] = None
  detail: str = ''  # For corrupt or unreadable files: the error message.


@dataclasses.dataclass(frozen=True)
class ConvertedFile:
  """A worker's result: a serialized NoteSequence, or why there is none."""
  relative_path: str
  record: bytes
  skip_reason: Optional[SkipReason]
  detail: str


def note_sequence_id(filename: str, collection_name: str) -> str:
  """`/id/midi/<collection>/<sha1 of filename>`, as Magenta's converter makes it."""
  fingerprint = hashlib.sha1(filename.encode('utf-8')).hexdigest()
  return f'/id/midi/{collection_name}/{fingerprint}'


def convert_midi_file(root_dir: str, relative_path: str) -> MidiConversion:
  """Converts `root_dir/relative_path`, named as Magenta names it.

  Like Magenta's `convert_midi(root_dir, sub_dir, path)` with
  `relative_path == os.path.join(sub_dir, os.path.basename(path))`: the
  collection name is `os.path.basename(root_dir)` and the filename is
  `relative_path`.
  """
  path = os.path.join(root_dir, relative_path)
  if not os.path.isfile(path):
    return MidiConversion(relative_path, skip_reason=SkipReason.NOT_A_FILE)
  try:
    with open(path, 'rb') as f:
      data = f.read()
  except OSError as e:
    return MidiConversion(relative_path, skip_reason=SkipReason.UNREADABLE, detail=e.strerror)
  midi_io = _note_seq_midi_io()
  try:
    sequence = midi_to_note_sequence(data)
  except midi_io.MIDIConversionError as e:
    reason = why_unparsable(data)
    # The parser's message adds nothing to the other reasons (mostly an EOFError).
    detail = str(e) if reason is SkipReason.CORRUPT else ''
    return MidiConversion(relative_path, skip_reason=reason, detail=detail)
  if not any(note.is_drum for note in sequence.notes):
    return MidiConversion(relative_path, skip_reason=SkipReason.NO_DRUMS)
  sequence.collection_name = os.path.basename(root_dir)
  sequence.filename = relative_path
  sequence.id = note_sequence_id(sequence.filename, sequence.collection_name)
  return MidiConversion(relative_path, sequence)


def convert_to_record(input_dir: str, relative_path: str) -> ConvertedFile:
  """Converts one file; runs in a worker, which sends back only bytes."""
  conversion = convert_midi_file(input_dir, relative_path)
  record = conversion.sequence.SerializeToString() if conversion.sequence else b''
  return ConvertedFile(relative_path, record, conversion.skip_reason, conversion.detail)


def midi_to_note_sequence(data: bytes) -> music_pb2.NoteSequence:
  """`note_seq.midi_to_note_sequence(data)`, refusing files past MAX_TICKS.

  Raises note_seq's MIDIConversionError for anything it cannot read, as
  note_seq does.
  """
  midi_io = _note_seq_midi_io()
  import mido  # pylint: disable=g-import-not-at-top
  import pretty_midi  # pylint: disable=g-import-not-at-top
  try:
    midi_file = mido.MidiFile(file=io.BytesIO(data), charset='latin1')  # as pretty_midi reads
    last_tick = max((sum(message.time for message in track) for track in midi_file.tracks),
                    default=0)
    if last_tick > MAX_TICKS:
      raise ValueError(f'its last event is at tick {last_tick}, past {MAX_TICKS}: likely corrupt')
    midi = pretty_midi.PrettyMIDI(mido_object=midi_file)
  except Exception as e:  # pylint: disable=broad-except  # As note_seq: parsers raise all kinds.
    raise midi_io.MIDIConversionError(f'{type(e).__name__}: {e}') from e
  return midi_io.midi_to_note_sequence(midi)


def read_drum_file(path: str, flag_name: str) -> music_pb2.NoteSequence:
  """The NoteSequence of a drum MIDI file given by --flag_name; UserError if none."""
  name = f'--{flag_name}={path}'
  if os.path.isdir(path):
    raise UserError(f'{name}: is a directory; give a MIDI file')
  if not os.path.isfile(path):
    raise UserError(f'{name}: no such file')
  conversion = convert_midi_file(*os.path.split(path))
  if conversion.skip_reason:
    detail = f' ({conversion.detail})' if conversion.detail else ''
    raise UserError(f'{name}: {conversion.skip_reason.value}{detail}; give a '
                    'drum MIDI file')
  return conversion.sequence


def quantize(sequence: music_pb2.NoteSequence, name: str = '') -> music_pb2.NoteSequence:
  """`sequence` on the 16th-note grid; UserError (naming `name`) if it cannot be."""
  from note_seq import sequences_lib  # pylint: disable=g-import-not-at-top
  prefix = f'{name}: ' if name else ''
  try:
    return sequences_lib.quantize_note_sequence(sequence, STEPS_PER_QUARTER)
  except sequences_lib.MultipleTempoError:
    raise UserError(f'{prefix}tempo changes; use a file with one tempo') from None
  except sequences_lib.MultipleTimeSignatureError:
    raise UserError(f'{prefix}time signature changes; use a 4/4 file') from None
  except (sequences_lib.QuantizationStatusError, sequences_lib.BadTimeSignatureError,
          sequences_lib.NegativeTimeError) as e:
    raise UserError(f'{prefix}cannot be put on a 16th-note grid: {e}') from None


def why_unparsable(data: bytes) -> SkipReason:
  """Tells an empty, non-MIDI, truncated or otherwise corrupt file apart."""
  if not data:
    return SkipReason.EMPTY
  if not data.startswith(b'MThd'):
    return SkipReason.NOT_MIDI
  if _is_truncated(data):
    return SkipReason.TRUNCATED
  return SkipReason.CORRUPT


def _is_truncated(data: bytes) -> bool:
  """True if the chunks run past the end, or fewer tracks than the header says."""
  declared_tracks = int.from_bytes(data[10:12], 'big')
  chunks = 0
  offset = 0
  while offset + 8 <= len(data):  # A chunk header: 4-byte type, 4-byte length.
    offset += 8 + int.from_bytes(data[offset + 4:offset + 8], 'big')
    chunks += 1
  return offset != len(data) or chunks < 1 + declared_tracks


def _note_seq_midi_io():
  """Imports note_seq.midi_io without pydub's warning that ffmpeg is missing."""
  with warnings.catch_warnings():
    # note_seq imports pydub for audio, which we never decode here.
    warnings.filterwarnings('ignore', message="Couldn't find ffmpeg", category=RuntimeWarning)
    from note_seq import midi_io  # pylint: disable=g-import-not-at-top
  return midi_io


def qpm_of(sequence: music_pb2.NoteSequence) -> float:
  """The tempo of `sequence` (its first), or note_seq's default where it has none."""
  return sequence.tempos[0].qpm if sequence.tempos else DEFAULT_QPM


def at_tempo(sequence: music_pb2.NoteSequence, qpm: float) -> music_pb2.NoteSequence:
  """A copy of one-tempo `sequence` played at `qpm`: every time scaled, same beats."""
  scale = qpm_of(sequence) / qpm
  result = type(sequence)()
  result.CopyFrom(sequence)
  del result.tempos[:]
  result.tempos.add(qpm=qpm)
  for note in result.notes:
    note.start_time *= scale
    note.end_time *= scale
  result.total_time *= scale
  return result


def write_midi_file(sequence: music_pb2.NoteSequence, path: str) -> None:
  """Writes `sequence` as a MIDI file, closing it, so an error on the disk is raised.

  note_seq's `sequence_proto_to_midi_file` writes through a file it never
  closes: on a full disk the error at flush is lost and the file left empty.
  """
  from note_seq import midi_io  # pylint: disable=g-import-not-at-top
  with open(path, 'wb') as f:
    midi_io.note_sequence_to_pretty_midi(sequence).write(f)

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
import functools
import hashlib
import io
import os
import typing
import warnings
from typing import Optional

if typing.TYPE_CHECKING:
  from note_seq.protobuf import music_pb2

# pretty_midi allocates an 8-byte float per MIDI tick up to a file's last tick;
# note_seq lifts pretty_midi's own limit (10^7) to 10^10, so a 64-byte file
# with one huge delta time could ask for 80 GB. 2^25 ticks (256 MiB) is still
# 4.8 hours at 960 ticks a quarter note and 120 qpm.
MAX_TICKS = 2**25


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


def note_sequence_id(filename: str, collection_name: str, source_type: str = 'midi') -> str:
  """`/id/<type>/<collection>/<sha1 of filename>`, as Magenta's converter makes it."""
  fingerprint = hashlib.sha1(filename.encode('utf-8')).hexdigest()
  return f'/id/{source_type.lower()}/{collection_name}/{fingerprint}'


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


def midi_to_note_sequence(data: bytes) -> music_pb2.NoteSequence:
  """`note_seq.midi_to_note_sequence(data)`, refusing files past MAX_TICKS.

  Raises note_seq's MIDIConversionError for anything it cannot read, as
  note_seq does.
  """
  mido = _mido_checking_bytes_once()
  midi_io = _note_seq_midi_io()
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


@functools.cache
def _mido_checking_bytes_once():
  """mido, reading MIDI files into the same messages in less time.

  mido's file reader checks every data byte of a channel message, then calls
  Message.from_bytes, which checks the same bytes again. Here the reader builds
  the same Message from the bytes it has checked: converting a Groove file
  takes 20.3 ms instead of 25.5 ms.
  """
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
  return mido


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

"""MP4 writer: an AAC-LC audio track of the participants' tones and, for audio+video, an H.264 test card.

The audio comes from the pure-Python encoder in ``aac`` (the same synthetic conversation the
WAV carries, mixed to mono), and the video from the bit-level encoder in ``h264``; both are
real codecs that every player decodes, so the archiver is tested on files shaped like the
service's. The audio track's edit list hides the encoder's 1024 samples of priming, so what a
player presents lines up with the video and lasts exactly the recording's duration.
"""

from __future__ import annotations

import struct
from pathlib import Path

from archiver.dev.emulator import aac, h264, pcm
from archiver.dev.emulator.isobmff import Track, box, full_box, write_mp4

AUDIO_SAMPLE_RATE = aac.SAMPLE_RATE
AUDIO_BIT_RATE = 128_000  # nominal, as the service reports it
AAC_FRAME_SAMPLES = aac.FRAME_SAMPLES
AAC_CONFIG = aac.AUDIO_SPECIFIC_CONFIG

VIDEO_WIDTH = 256
VIDEO_HEIGHT = 144
FRAME_RATE = 16
VIDEO_BIT_RATE = 1_000_000  # nominal, as the service reports it
KEY_FRAME_SECONDS = 5
_VIDEO_TIMESCALE = 16_000


def _descriptor(tag: int, payload: bytes) -> bytes:
    """An MPEG-4 descriptor with its length in the 4-byte expandable form."""
    size = len(payload)
    length = bytes(
        [0x80 | ((size >> 21) & 0x7F), 0x80 | ((size >> 14) & 0x7F), 0x80 | ((size >> 7) & 0x7F), size & 0x7F]
    )
    return bytes([tag]) + length + payload


def _mp4a_entry() -> bytes:
    decoder_specific = _descriptor(0x05, AAC_CONFIG)
    decoder_config = _descriptor(
        0x04,
        bytes([0x40, 0x15])  # MPEG-4 audio; stream type audio, reserved bit set
        + bytes(3)  # bufferSizeDB
        + struct.pack(">II", AUDIO_BIT_RATE, AUDIO_BIT_RATE)
        + decoder_specific,
    )
    es = _descriptor(0x03, struct.pack(">HB", 1, 0) + decoder_config + _descriptor(0x06, b"\x02"))
    esds = full_box(b"esds", 0, 0, es)
    return box(
        b"mp4a",
        bytes(6),
        struct.pack(">H", 1),  # data_reference_index
        bytes(8),
        struct.pack(">HHHHI", 1, 16, 0, 0, AUDIO_SAMPLE_RATE << 16),
        esds,
    )


def _avc1_entry(sps: bytes, pps: bytes) -> bytes:
    avcc = box(
        b"avcC",
        bytes([1, h264.PROFILE_BASELINE, h264.CONSTRAINT_FLAGS, h264.LEVEL, 0xFF, 0xE1]),
        struct.pack(">H", len(sps)),
        sps,
        bytes([1]),
        struct.pack(">H", len(pps)),
        pps,
    )
    compressor = b"\x0cACS emulator".ljust(32, b"\x00")
    return box(
        b"avc1",
        bytes(6),
        struct.pack(">H", 1),
        bytes(16),
        struct.pack(">HHII", VIDEO_WIDTH, VIDEO_HEIGHT, 0x00480000, 0x00480000),
        bytes(4),
        struct.pack(">H", 1),
        compressor,
        struct.pack(">Hh", 0x0018, -1),
        avcc,
    )


def _per_second(total: int, per_second: float) -> tuple[int, ...]:
    """Split ``total`` samples into chunks of about one second each."""
    lengths: list[int] = []
    done = 0
    second = 1
    while done < total:
        upto = min(total, int(second * per_second))
        if upto > done:
            lengths.append(upto - done)
            done = upto
        second += 1
    return tuple(lengths)


def audio_track(duration_ms: int, participants: int = 1, pause_marks_ms: tuple[int, ...] = ()) -> Track:
    """The conversation as AAC, one frame per sample, the priming hidden by an edit list."""
    sample_count = duration_ms * AUDIO_SAMPLE_RATE // 1000
    tones = pcm.mono_conversation(
        participants=participants, duration_ms=duration_ms, pause_marks_ms=pause_marks_ms
    )
    frames = aac.encode(tones, sample_count)
    return Track(
        handler=b"soun",
        timescale=AUDIO_SAMPLE_RATE,
        sample_delta=AAC_FRAME_SAMPLES,
        sample_entry=_mp4a_entry(),
        sample_sizes=tuple(len(frame) for frame in frames),
        chunk_lengths=_per_second(len(frames), AUDIO_SAMPLE_RATE / AAC_FRAME_SAMPLES),
        sync_samples=None,
        sample=frames.__getitem__,
        skip=aac.PRIMING_SAMPLES,
        presented=sample_count,
    )


def video_track(duration_ms: int, participants: int) -> Track:
    picture = h264.test_card(VIDEO_WIDTH, VIDEO_HEIGHT, participants)
    gop = FRAME_RATE * KEY_FRAME_SECONDS
    key_frames = [_length_prefixed(h264.idr_frame(picture, idr_id)) for idr_id in (0, 1)]
    skip_frames = [_length_prefixed(h264.skip_frame(picture, n)) for n in range(16)]

    def sample(i: int) -> bytes:
        position = i % gop
        if position == 0:
            return key_frames[(i // gop) % 2]
        return skip_frames[position % 16]

    frames = max(1, duration_ms * FRAME_RATE // 1000)
    return Track(
        handler=b"vide",
        timescale=_VIDEO_TIMESCALE,
        sample_delta=_VIDEO_TIMESCALE // FRAME_RATE,
        sample_entry=_avc1_entry(h264.sequence_parameter_set(picture), h264.picture_parameter_set()),
        sample_sizes=tuple(len(sample(i)) for i in range(frames)),
        chunk_lengths=_per_second(frames, FRAME_RATE),
        sync_samples=tuple(range(1, frames + 1, gop)),
        sample=sample,
        width=VIDEO_WIDTH,
        height=VIDEO_HEIGHT,
    )


def _length_prefixed(nal: bytes) -> bytes:
    return struct.pack(">I", len(nal)) + nal


def write_recording_mp4(
    path: Path,
    *,
    duration_ms: int,
    participants: int,
    with_video: bool,
    pause_marks_ms: tuple[int, ...] = (),
) -> None:
    tracks = [video_track(duration_ms, participants)] if with_video else []
    tracks.append(audio_track(duration_ms, participants, pause_marks_ms))
    write_mp4(str(path), tracks)

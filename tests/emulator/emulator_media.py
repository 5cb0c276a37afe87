"""Checks that media files are well formed, and FFmpeg's view of them.

Used by the emulator tests to prove that what the emulator serves is real media: in pure
Python, the MP4 box tree and sample tables agree with ``mdat``, MP3 frames follow one another to
the end of the file, and the WAV header describes the data; through PyAV (FFmpeg's decoders,
bundled in the ``av`` wheel, so nothing needs installing on the machine), every stream decodes
without a complaint and the audio can be measured.
"""

from __future__ import annotations

import io
import itertools
import math
import struct
import wave
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

import av
import av.logging

CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"dinf", b"edts"}
# FFmpeg notes that are not complaints: an MP3 without a Xing header has no exact duration.
BENIGN_NOTES = ("Estimating duration from bitrate", "Guessed Channel Layout")


@dataclass
class Box:
    kind: bytes
    start: int  # offset of the box header in the file
    payload: bytes
    children: list[Box] = field(default_factory=list)

    def find(self, *path: bytes) -> Box:
        box = self
        for kind in path:
            box = next(c for c in box.children if c.kind == kind)
        return box

    def all(self, kind: bytes) -> list[Box]:
        return [c for c in self.children if c.kind == kind]


def parse_boxes(data: bytes, start: int = 0, end: int | None = None) -> list[Box]:
    """Parse a sequence of boxes; every size must fit exactly inside its parent."""
    end = len(data) if end is None else end
    boxes: list[Box] = []
    position = start
    while position < end:
        assert end - position >= 8, f"truncated box header at {position}"
        size, kind = struct.unpack_from(">I4s", data, position)
        header = 8
        if size == 1:
            size = struct.unpack_from(">Q", data, position + 8)[0]
            header = 16
        assert size >= header and position + size <= end, f"box {kind!r} at {position} overruns its parent"
        payload = data[position + header : position + size]
        box = Box(kind, position, payload)
        if kind in CONTAINERS:
            box.children = parse_boxes(data, position + header, position + size)
        boxes.append(box)
        position += size
    assert position == end
    return boxes


@dataclass(frozen=True)
class TrackInfo:
    handler: bytes
    codec: bytes
    timescale: int
    duration: int
    sample_count: int
    samples: list[tuple[int, int]]  # (offset, size) of every sample
    edit: tuple[int, int] | None  # the edit list's only entry: (movie ms presented, media start)


def _full(payload: bytes) -> bytes:
    return payload[4:]  # skip version and flags


def _track(trak: Box) -> TrackInfo:
    mdhd = _full(trak.find(b"mdia", b"mdhd").payload)
    timescale, duration = struct.unpack_from(">II", mdhd, 8)
    handler = trak.find(b"mdia", b"hdlr").payload[8:12]
    stbl = trak.find(b"mdia", b"minf", b"stbl")
    stsd = _full(stbl.find(b"stsd").payload)
    assert struct.unpack_from(">I", stsd)[0] == 1
    codec = stsd[8:12]
    stts = _full(stbl.find(b"stts").payload)
    entries = struct.unpack_from(">I", stts)[0]
    stts_total = sum(
        count * delta for count, delta in (struct.unpack_from(">II", stts, 4 + 8 * i) for i in range(entries))
    )
    assert stts_total == duration, "stts must add up to the media duration"
    stsz = _full(stbl.find(b"stsz").payload)
    uniform, count = struct.unpack_from(">II", stsz)
    sizes = [uniform] * count if uniform else list(struct.unpack_from(f">{count}I", stsz, 8))
    stco = _full(stbl.find(b"stco").payload)
    chunks = struct.unpack_from(">I", stco)[0]
    offsets = struct.unpack_from(f">{chunks}I", stco, 4)
    stsc = _full(stbl.find(b"stsc").payload)
    runs = [struct.unpack_from(">III", stsc, 4 + 12 * i) for i in range(struct.unpack_from(">I", stsc)[0])]
    samples: list[tuple[int, int]] = []
    sample = 0
    for chunk_number, chunk_offset in enumerate(offsets, start=1):
        per_chunk = next(n for first, n, _ in reversed(runs) if first <= chunk_number)
        position = chunk_offset
        for _ in range(per_chunk):
            samples.append((position, sizes[sample]))
            position += sizes[sample]
            sample += 1
    assert sample == count, "stsc and stco must place every sample"
    return TrackInfo(handler, codec, timescale, duration, count, samples, _edit(trak))


def _edit(trak: Box) -> tuple[int, int] | None:
    edts = trak.all(b"edts")
    if not edts:
        return None
    elst = parse_boxes(edts[0].payload)
    assert [b.kind for b in elst] == [b"elst"]
    entries, segment, media_time, rate = struct.unpack_from(">IIiI", _full(elst[0].payload))
    assert entries == 1 and rate == 0x00010000
    return segment, media_time


def check_mp4(data: bytes) -> dict[bytes, TrackInfo]:
    """Validate the box tree and that every sample lies inside mdat; return tracks by handler."""
    top = parse_boxes(data)
    kinds = [b.kind for b in top]
    assert kinds[0] == b"ftyp" and b"moov" in kinds and b"mdat" in kinds, kinds
    moov = next(b for b in top if b.kind == b"moov")
    mdat = next(b for b in top if b.kind == b"mdat")
    mdat_start, mdat_end = mdat.start + 8, mdat.start + 8 + len(mdat.payload)
    tracks: dict[bytes, TrackInfo] = {}
    used: list[tuple[int, int]] = []
    for trak in moov.all(b"trak"):
        info = _track(trak)
        for offset, size in info.samples:
            assert mdat_start <= offset and offset + size <= mdat_end, "a sample lies outside mdat"
            used.append((offset, size))
        tracks[info.handler] = info
    used.sort()
    for (a, size), (b, _) in itertools.pairwise(used):
        assert a + size <= b, "samples overlap"
    assert sum(size for _, size in used) == len(mdat.payload), "mdat holds exactly the samples"
    if b"vide" in tracks:
        video = tracks[b"vide"]
        assert video.codec == b"avc1"
        offset, size = video.samples[0]
        (nal_length,) = struct.unpack_from(">I", data, offset)
        assert nal_length == size - 4
        assert data[offset + 4] & 0x1F == 5, "the first video sample is an IDR picture"
    return tracks


_MPEG2_L3_KBPS = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
_MPEG1_L3_KBPS = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


@dataclass(frozen=True)
class Mp3Info:
    frames: int
    sample_rate: int
    duration_ms: float


def check_mp3(data: bytes) -> Mp3Info:
    """Walk Layer III frame headers from the first byte to the last; every length must fit."""
    position = 0
    frames = 0
    sample_rate = 0
    samples = 0
    while position < len(data):
        header = struct.unpack_from(">I", data, position)[0]
        assert header >> 21 == 0x7FF, f"no frame sync at {position}"
        version = (header >> 19) & 3
        assert (header >> 17) & 3 == 1, "Layer III"
        bitrate_index = (header >> 12) & 0xF
        rate_index = (header >> 10) & 3
        padding = (header >> 9) & 1
        assert 0 < bitrate_index < 15 and rate_index < 3 and version != 1
        rate = _RATES[version][rate_index]
        if version == 3:
            kbps, per_frame, factor = _MPEG1_L3_KBPS[bitrate_index], 1152, 144
        else:
            kbps, per_frame, factor = _MPEG2_L3_KBPS[bitrate_index], 576, 72
        length = factor * kbps * 1000 // rate + padding
        assert position + length <= len(data), "the last frame is truncated"
        position += length
        frames += 1
        sample_rate = rate
        samples += per_frame
    return Mp3Info(frames, sample_rate, samples * 1000 / sample_rate)


@dataclass(frozen=True)
class WavInfo:
    channels: int
    sample_rate: int
    frames: int
    samples: list[array[int]]  # one array per channel

    @property
    def duration_ms(self) -> float:
        return self.frames * 1000 / self.sample_rate


def check_wav(data: bytes) -> WavInfo:
    with wave.open(io.BytesIO(data), "rb") as reader:
        channels, width, rate, frames = (
            reader.getnchannels(),
            reader.getsampwidth(),
            reader.getframerate(),
            reader.getnframes(),
        )
        raw = reader.readframes(frames)
    assert width == 2
    assert len(raw) == frames * channels * 2, "the data chunk holds exactly nframes frames"
    assert len(data) == 44 + len(raw), "a canonical 44-byte header, then the samples"
    interleaved = array("h", raw)
    return WavInfo(channels, rate, frames, [interleaved[c::channels] for c in range(channels)])


def loudness(samples: Sequence[float], start: int, end: int) -> float:
    """Mean absolute amplitude of ``samples[start:end]``."""
    window = samples[start:end]
    return sum(abs(v) for v in window) / max(1, len(window))


def rms(samples: Sequence[float], start: int, end: int) -> float:
    """Root mean square of ``samples[start:end]`` (decoded audio: 1.0 is full scale)."""
    window = samples[start:end]
    return math.sqrt(sum(v * v for v in window) / max(1, len(window)))


def dominant_hz(samples: Sequence[float], start: int, end: int, rate: int) -> float:
    """Estimate a pure tone's frequency from its zero crossings."""
    window = samples[start:end]
    crossings = sum(1 for a, b in itertools.pairwise(window) if (a < 0) != (b < 0))
    return crossings * rate / (2 * len(window))


@dataclass(frozen=True)
class FfmpegReport:
    codecs: list[str]  # per stream, as ffprobe's codec_name
    frames: dict[int, int]  # decoded frames per stream index
    audio_seconds: float  # decoded audio, first audio stream
    complaints: list[str]  # FFmpeg's warnings and errors, less the benign notes


def decode_with_ffmpeg(data: bytes) -> FfmpegReport:
    """Demux and decode every packet of every stream, capturing what FFmpeg logs.

    PyAV keeps FFmpeg quiet by default; the level is raised to WARNING for the duration, the
    same bar as ``ffmpeg -v warning -i FILE -f null -``. A decoding error raises.
    """
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.WARNING)
    try:
        with av.logging.Capture() as logs, av.open(io.BytesIO(data), "r") as container:
            codecs = [s.codec_context.codec.canonical_name for s in container.streams]
            audio_index = container.streams.audio[0].index if container.streams.audio else -1
            frames: dict[int, int] = {}
            audio_samples = 0
            rate = 1
            for packet in container.demux():
                for frame in packet.decode():
                    frames[packet.stream.index] = frames.get(packet.stream.index, 0) + 1
                    if packet.stream.index == audio_index and isinstance(frame, av.AudioFrame):
                        audio_samples += frame.samples
                        rate = frame.sample_rate
    finally:
        av.logging.set_level(previous)
    complaints = [message for _, _, message in logs if not any(note in message for note in BENIGN_NOTES)]
    return FfmpegReport(codecs, frames, audio_samples / rate, complaints)


@dataclass(frozen=True)
class DecodedAudio:
    codec: str
    sample_rate: int
    channels: list[array[float]]  # one per channel, 1.0 is full scale


def decode_audio(data: bytes) -> DecodedAudio:
    """The first audio stream, decoded by FFmpeg and converted to planar float, channel by channel."""
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp")
        channels: list[array[float]] = []
        rate = 0
        for frame in container.decode(stream):
            for planar in resampler.resample(frame):
                rate = planar.sample_rate
                if not channels:
                    channels = [array("f") for _ in planar.planes]
                for channel, plane in zip(channels, planar.planes, strict=True):
                    channel.extend(array("f", bytes(plane))[: planar.samples])
        return DecodedAudio(stream.codec_context.codec.canonical_name, rate, channels)


def decode_packets(codec: str, packets: Sequence[bytes], extradata: bytes | None = None) -> array[float]:
    """Decode raw codec packets (no container) to mono float samples, flushing the decoder."""
    context = av.CodecContext.create(codec, "r")
    assert isinstance(context, av.AudioCodecContext)
    if extradata is not None:
        context.extradata = extradata
    out: array[float] = array("f")
    resampler = av.AudioResampler(format="fltp")

    def take(frames: Sequence[av.AudioFrame]) -> None:
        for frame in frames:
            for planar in resampler.resample(frame):
                out.extend(array("f", bytes(planar.planes[0]))[: planar.samples])

    for packet in packets:
        take(context.decode(av.Packet(packet)))
    take(context.decode(None))
    return out

"""ISO base media file format (MP4) boxes and sample tables, for tracks built in memory.

Only what a progressive MP4 needs: ``ftyp``, then ``moov`` (so players can start at once),
then one ``mdat`` whose chunks interleave the tracks second by second. A track may skip its
first samples with an edit list (``edts``/``elst``), as AAC tracks do for the encoder's priming.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_UNITY_MATRIX = struct.pack(">9i", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
_MAC_EPOCH_OFFSET = 2_082_844_800  # seconds from 1904-01-01 to 1970-01-01
_LANGUAGE_UND = 0x55C4
_MOVIE_TIMESCALE = 1000


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


@dataclass(frozen=True)
class Track:
    """One track: its sample description, the size of every sample and how they are chunked."""

    handler: bytes  # b"vide" or b"soun"
    timescale: int
    sample_delta: int
    sample_entry: bytes  # the box that goes inside stsd
    sample_sizes: tuple[int, ...]
    chunk_lengths: tuple[int, ...]  # samples per chunk, in file order
    sync_samples: tuple[int, ...] | None  # 1-based key frames; None when every sample is one
    sample: Callable[[int], bytes]  # the bytes of sample ``i`` (0-based)
    width: int = 0
    height: int = 0
    skip: int = 0  # media time (timescale units) the edit list hides at the start
    presented: int | None = None  # media time shown after ``skip``; None: all that remains

    @property
    def duration(self) -> int:
        return len(self.sample_sizes) * self.sample_delta

    @property
    def presented_duration(self) -> int:
        """What a player shows, in timescale units: the media, less any edit."""
        return self.duration - self.skip if self.presented is None else self.presented

    def movie_duration(self) -> int:
        """``presented_duration`` in the movie's timescale (milliseconds)."""
        return self.presented_duration * _MOVIE_TIMESCALE // self.timescale


def ftyp() -> bytes:
    return box(b"ftyp", b"isom", struct.pack(">I", 512), b"isom", b"iso2", b"avc1", b"mp41")


def _layout(tracks: list[Track]) -> list[tuple[int, int, int]]:
    """(track, first sample, sample count) of every chunk, interleaving the tracks in turn."""
    order: list[tuple[int, int, int]] = []
    firsts = [0] * len(tracks)
    for position in range(max(len(t.chunk_lengths) for t in tracks)):
        for index, track in enumerate(tracks):
            if position < len(track.chunk_lengths):
                count = track.chunk_lengths[position]
                order.append((index, firsts[index], count))
                firsts[index] += count
    return order


def _sample_table(track: Track, offsets: list[int]) -> bytes:
    runs: list[tuple[int, int]] = []  # (first chunk, samples per chunk)
    for number, length in enumerate(track.chunk_lengths, start=1):
        if not runs or runs[-1][1] != length:
            runs.append((number, length))
    parts = [
        full_box(b"stsd", 0, 0, struct.pack(">I", 1), track.sample_entry),
        full_box(b"stts", 0, 0, struct.pack(">III", 1, len(track.sample_sizes), track.sample_delta)),
    ]
    if track.sync_samples is not None:
        parts.append(
            full_box(
                b"stss",
                0,
                0,
                struct.pack(f">I{len(track.sync_samples)}I", len(track.sync_samples), *track.sync_samples),
            )
        )
    parts.append(
        full_box(
            b"stsc",
            0,
            0,
            struct.pack(">I", len(runs)),
            *(struct.pack(">III", first, length, 1) for first, length in runs),
        )
    )
    parts.append(
        full_box(
            b"stsz",
            0,
            0,
            struct.pack(f">II{len(track.sample_sizes)}I", 0, len(track.sample_sizes), *track.sample_sizes),
        )
    )
    parts.append(full_box(b"stco", 0, 0, struct.pack(f">I{len(offsets)}I", len(offsets), *offsets)))
    return box(b"stbl", *parts)


def _edit_list(track: Track) -> list[bytes]:
    """One ``edts`` box when the track skips or trims media, else nothing."""
    if track.skip == 0 and track.presented is None:
        return []
    entry = struct.pack(">IiHH", track.movie_duration(), track.skip, 1, 0)  # rate 1.0
    return [box(b"edts", full_box(b"elst", 0, 0, struct.pack(">I", 1), entry))]


def _trak(track_id: int, track: Track, offsets: list[int], now: int) -> bytes:
    movie_duration = track.movie_duration()
    is_video = track.handler == b"vide"
    tkhd = full_box(
        b"tkhd",
        0,
        3,  # enabled, in movie
        struct.pack(">IIIII", now, now, track_id, 0, movie_duration),
        bytes(8),
        struct.pack(">hhhH", 0, 0, 0 if is_video else 0x0100, 0),
        _UNITY_MATRIX,
        struct.pack(">II", track.width << 16, track.height << 16),
    )
    mdhd = full_box(
        b"mdhd",
        0,
        0,
        struct.pack(">IIIIHH", now, now, track.timescale, track.duration, _LANGUAGE_UND, 0),
    )
    name = b"VideoHandler\x00" if is_video else b"SoundHandler\x00"
    hdlr = full_box(b"hdlr", 0, 0, struct.pack(">I4s", 0, track.handler), bytes(12), name)
    media_header = full_box(b"vmhd", 0, 1, bytes(8)) if is_video else full_box(b"smhd", 0, 0, bytes(4))
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
    minf = box(b"minf", media_header, dinf, _sample_table(track, offsets))
    return box(b"trak", tkhd, *_edit_list(track), box(b"mdia", mdhd, hdlr, minf))


def _moov(tracks: list[Track], offsets: list[list[int]]) -> bytes:
    now = int(time.time()) + _MAC_EPOCH_OFFSET
    duration = max(t.movie_duration() for t in tracks)
    mvhd = full_box(
        b"mvhd",
        0,
        0,
        struct.pack(">IIIIiH", now, now, _MOVIE_TIMESCALE, duration, 0x00010000, 0x0100),
        bytes(10),
        _UNITY_MATRIX,
        bytes(24),
        struct.pack(">I", len(tracks) + 1),
    )
    traks = [_trak(i + 1, t, offsets[i], now) for i, t in enumerate(tracks)]
    return box(b"moov", mvhd, *traks)


def write_mp4(path: str, tracks: list[Track]) -> None:
    """Write ftyp, moov and mdat; chunk offsets are known once moov's size is."""
    layout = _layout(tracks)
    sizes = [sum(t.sample_sizes[f : f + n]) for (ti, f, n), t in ((c, tracks[c[0]]) for c in layout)]
    head = ftyp()
    placeholder = [[0] * len(t.chunk_lengths) for t in tracks]
    moov_size = len(_moov(tracks, placeholder))
    position = len(head) + moov_size + 8  # first byte after the mdat header
    offsets: list[list[int]] = [[] for _ in tracks]
    for (track_index, _, _), size in zip(layout, sizes, strict=True):
        offsets[track_index].append(position)
        position += size
    moov = _moov(tracks, offsets)
    assert len(moov) == moov_size
    with open(path, "wb") as out:
        out.write(head)
        out.write(moov)
        out.write(struct.pack(">I4s", 8 + sum(sizes), b"mdat"))
        for chunk in _chunk_bytes(tracks, layout):
            out.write(chunk)


def _chunk_bytes(tracks: list[Track], layout: list[tuple[int, int, int]]) -> Iterator[bytes]:
    for track_index, first, count in layout:
        track = tracks[track_index]
        yield b"".join(track.sample(i) for i in range(first, first + count))

"""Recordings produce real, playable media of the requested format, and matching metadata."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from emulator_media import (
    check_mp3,
    check_mp4,
    check_wav,
    decode_audio,
    decode_with_ffmpeg,
    dominant_hz,
    loudness,
    rms,
)
from emulator_support import MAX_MEDIA_SECONDS, Recorder, only_chunk

from archiver.dev.emulator import h264, mp3, mp4, pcm
from archiver.dev.emulator.client import EmulatorAdmin
from archiver.dev.emulator.formats import RecordingKind
from archiver.dev.emulator.media import write_media

THREE = ["8:acs:r_00000001", "4:+14255550123", "8:orgid:2b9f6e3a-1111-2222-3333-444455556666"]
TONE_RMS = 0.3 / 2**0.5  # pcm's tones peak at 0.3 of full scale
# Decoded audio lags the input by this many samples: MP3 has no edit list to hide its delay.
LAG = {"mp3": mp3.CODEC_DELAY_SAMPLES, "mp4": 0}


def download(admin: EmulatorAdmin, url: str) -> bytes:
    response = admin.signed_request("GET", url)
    assert response.status_code == 200, response.text
    return response.content


def test_mixed_mp4_has_h264_video_and_aac_audio(record: Recorder, admin: EmulatorAdmin) -> None:
    event = record(participants=THREE, active_seconds=0.2)
    chunk = only_chunk(event)
    assert chunk["contentLocation"].endswith("/content/video")
    response = admin.signed_request("GET", chunk["contentLocation"])
    assert response.headers["content-type"] == "video/mp4"
    tracks = check_mp4(response.content)
    video, audio = tracks[b"vide"], tracks[b"soun"]
    assert (video.codec, audio.codec) == (b"avc1", b"mp4a")
    assert video.sample_count == 1 * mp4.FRAME_RATE  # active time under 1 s: the 1 s minimum
    assert abs(audio.duration / audio.timescale - 1.0) < 0.1
    # The edit list hides the AAC priming and presents exactly the recording's second.
    assert (video.edit, audio.edit) == (None, (1000, 1024))
    metadata = json.loads(download(admin, chunk["metadataLocation"]))
    info = metadata["recordingInfo"]
    assert (info["contentType"], info["channelType"], info["format"]) == ("audioVideo", "mixed", "mp4")
    assert info["videoConfiguration"]["longerSideLength"] == mp4.VIDEO_WIDTH
    assert [p["participantId"] for p in metadata["participants"]] == THREE
    assert all("channel" not in p for p in metadata["participants"])


def test_mp3_is_a_clean_run_of_layer_iii_frames(record: Recorder, admin: EmulatorAdmin) -> None:
    event = record(recordingContentType="audio", recordingFormatType="mp3")
    chunk = only_chunk(event)
    assert chunk["contentLocation"].endswith("/content/audio")
    response = admin.signed_request("GET", chunk["contentLocation"])
    assert response.headers["content-type"] == "audio/mpeg"
    info = check_mp3(response.content)
    assert info.sample_rate == 16000
    assert 1000 <= info.duration_ms < 1000 + 36
    metadata = json.loads(download(admin, chunk["metadataLocation"]))
    assert metadata["recordingInfo"]["audioConfiguration"] == {
        "sampleRate": 16000,
        "bitRate": 32000,
        "channels": 1,
    }


def test_mixed_wav_is_one_channel_with_everyone(record: Recorder, admin: EmulatorAdmin) -> None:
    event = record(recordingContentType="audio", recordingFormatType="wav", participants=THREE)
    response = admin.signed_request("GET", only_chunk(event)["contentLocation"])
    assert response.headers["content-type"] == "audio/wav"
    wav = check_wav(response.content)
    assert (wav.channels, wav.sample_rate, wav.duration_ms) == (1, 16000, 1000)


def test_unmixed_recording_is_a_multichannel_wav(record: Recorder, admin: EmulatorAdmin) -> None:
    event = record(recordingContentType="audio", recordingChannelType="unmixed", participants=THREE)
    data = event[0]["data"]
    assert (data["recordingContentType"], data["recordingChannelType"], data["recordingFormatType"]) == (
        "Audio",
        "Unmixed",
        "Wav",
    )
    chunk = only_chunk(event)
    assert check_wav(download(admin, chunk["contentLocation"])).channels == 3
    metadata = json.loads(download(admin, chunk["metadataLocation"]))
    assert metadata["recordingInfo"]["channelType"] == "unmixed"


def test_unmixed_wav_has_one_distinct_channel_per_participant(admin: EmulatorAdmin) -> None:
    chunk = admin.seed_document(format="wav", channel_type="unmixed", participants=THREE, duration_ms=3000)
    wav = check_wav(download(admin, chunk["contentLocation"]))
    assert (wav.channels, wav.duration_ms) == (3, 3000)
    rate = wav.sample_rate
    for second in range(3):  # participants speak in turn, one second each
        for channel in range(3):
            level = loudness(wav.samples[channel], second * rate, (second + 1) * rate)
            if channel == second:
                assert level > 1000
                hz = dominant_hz(wav.samples[channel], second * rate, (second + 1) * rate, rate)
                assert abs(hz - pcm.tone_hz(channel)) < 5
            else:
                assert level == 0
    metadata = json.loads(download(admin, chunk["metadataLocation"]))
    assert metadata["recordingInfo"]["audioConfiguration"]["channels"] == 3
    assert [(p["participantId"], p["channel"]) for p in metadata["participants"]] == [
        (pid, i) for i, pid in enumerate(THREE)
    ]


def test_unmixed_wav_stops_at_five_channels(record: Recorder, admin: EmulatorAdmin) -> None:
    people = [f"4:+1425555010{i}" for i in range(7)]
    event = record(recordingContentType="audio", recordingChannelType="unmixed", participants=people)
    chunk = only_chunk(event)
    assert check_wav(download(admin, chunk["contentLocation"])).channels == 5
    metadata = json.loads(download(admin, chunk["metadataLocation"]))
    assert [p["channel"] for p in metadata["participants"]] == [0, 1, 2, 3, 4, 4, 4]


def test_media_is_capped_by_max_media_seconds(tmp_path: Path) -> None:
    from archiver.dev.emulator.finalize import media_duration_ms

    assert media_duration_ms(500, MAX_MEDIA_SECONDS * 1000, 1) == 1000
    assert media_duration_ms(10**9, MAX_MEDIA_SECONDS * 1000, 1) == MAX_MEDIA_SECONDS * 1000
    assert media_duration_ms(100, 30_000, 3) == 3000  # every chunk gets at least a second


def test_pause_marks_are_silent_in_the_audio(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    write_media(
        path, RecordingKind("audio", "mixed", "wav"), participants=1, duration_ms=2000, pause_marks_ms=(1000,)
    )
    wav = check_wav(path.read_bytes())
    rate = wav.sample_rate
    assert loudness(wav.samples[0], rate // 2, rate) > 1000
    mark_end = rate + rate * pcm.PAUSE_MARK_MS // 1000
    assert loudness(wav.samples[0], rate, mark_end) == 0
    assert loudness(wav.samples[0], mark_end, 2 * rate) > 1000


def test_h264_exp_golomb_codes() -> None:
    writer = h264.BitWriter()
    for value in (0, 1, 2, 3, 25):
        writer.ue(value)
    # 1 | 010 | 011 | 00100 | 000011010, then the stop bit and zero padding
    assert writer.trailing_bits() == bytes([0b10100110, 0b01000000, 0b11010100])


def test_nal_units_get_emulation_prevention_bytes() -> None:
    assert h264.nal_unit(3, 5, b"\x00\x00\x01\x00\x00\x00") == b"\x65\x00\x00\x03\x01\x00\x00\x03\x00"


def test_mp3_frame_header_constants() -> None:
    assert len(mp3.SILENT_FRAME) == 144
    assert check_mp3(mp3.SILENT_FRAME * 3).frames == 3


@pytest.mark.parametrize(
    ("kind", "codecs"),
    [
        (RecordingKind("audioVideo", "mixed", "mp4"), ["h264", "aac"]),
        (RecordingKind("audio", "mixed", "mp4"), ["aac"]),
        (RecordingKind("audio", "mixed", "mp3"), ["mp3"]),
        (RecordingKind("audio", "unmixed", "wav"), ["pcm_s16le"]),
    ],
)
def test_ffmpeg_decodes_every_format(tmp_path: Path, kind: RecordingKind, codecs: list[str]) -> None:
    """FFmpeg (PyAV's) reads every frame of every stream without a complaint."""
    path = tmp_path / f"media.{kind.format}"
    write_media(path, kind, participants=3, duration_ms=2500, pause_marks_ms=(700,))
    report = decode_with_ffmpeg(path.read_bytes())
    assert report.codecs == codecs
    assert sorted(report.frames) == list(range(len(codecs))), "every stream yields frames"
    assert report.complaints == []
    assert 2.5 <= report.audio_seconds < 2.5 + 0.07  # at most one frame of padding at the end


@pytest.mark.parametrize(("fmt", "content_type"), [("mp3", "audio"), ("mp4", "audio"), ("mp4", "audioVideo")])
def test_encoded_audio_carries_each_participants_tone(
    admin: EmulatorAdmin, fmt: str, content_type: str
) -> None:
    """MP3 and MP4 audio is as audible as the WAV: each second, the speaker's tone at full level."""
    chunk = admin.seed_document(format=fmt, content_type=content_type, participants=THREE, duration_ms=3000)
    audio = decode_audio(download(admin, chunk["contentLocation"]))
    assert (audio.codec, audio.sample_rate, len(audio.channels)) == (
        "mp3" if fmt == "mp3" else "aac",
        16000,
        1,
    )
    samples, rate, lag = audio.channels[0], audio.sample_rate, LAG[fmt]
    for second in range(3):  # participants speak in turn; stay clear of the changes
        start, end = lag + second * rate + rate // 5, lag + (second + 1) * rate - rate // 5
        assert rms(samples, start, end) > 0.8 * TONE_RMS
        assert abs(dominant_hz(samples, start, end, rate) - pcm.tone_hz(second)) < 5


@pytest.mark.parametrize("fmt", ["mp3", "mp4"])
def test_pause_marks_are_silent_in_encoded_audio(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"a.{fmt}"
    kind = RecordingKind("audio", "mixed", fmt)
    write_media(path, kind, participants=1, duration_ms=2000, pause_marks_ms=(1000,))
    audio = decode_audio(path.read_bytes())
    samples, rate, lag = audio.channels[0], audio.sample_rate, LAG[fmt]
    mark_start, mark_end = lag + rate, lag + rate + rate * pcm.PAUSE_MARK_MS // 1000
    assert rms(samples, lag + rate // 2, mark_start - rate // 50) > 0.8 * TONE_RMS
    assert rms(samples, mark_start + rate // 50, mark_end - rate // 50) < 0.05 * TONE_RMS
    assert rms(samples, mark_end + rate // 50, lag + 2 * rate - rate // 10) > 0.8 * TONE_RMS

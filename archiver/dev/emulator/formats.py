"""Recording content/channel/format values: parsing, the valid combinations, their spellings.

ACS accepts these enums in any casing; the event spells them PascalCase and the metadata
camelCase, so the canonical form here is the metadata's and the others are derived.
"""

from __future__ import annotations

from dataclasses import dataclass

from archiver.dev.emulator.errors import bad_request

CONTENT_TYPES = ("audioVideo", "audio")
CHANNEL_TYPES = ("mixed", "unmixed")
FORMATS = ("mp4", "mp3", "wav")

# The combinations the Call Recording API supports; anything else is a 400.
VALID_COMBINATIONS = {
    ("audioVideo", "mixed", "mp4"),
    ("audio", "mixed", "mp3"),
    ("audio", "mixed", "wav"),
    ("audio", "unmixed", "wav"),
}

MEDIA_TYPES = {"mp4": "video/mp4", "mp3": "audio/mpeg", "wav": "audio/wav"}
EXTENSIONS = {"mp4": ".mp4", "mp3": ".mp3", "wav": ".wav"}

# Unmixed audio is one multichannel WAV with at most this many channels.
MAX_UNMIXED_CHANNELS = 5


@dataclass(frozen=True)
class RecordingKind:
    """What a recording (or a seeded document) contains, in canonical spelling."""

    content_type: str
    channel_type: str
    format: str

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.format]

    @property
    def content_segment(self) -> str:
        """Last segment of today's content URL: ``.../content/video`` or ``.../content/audio``."""
        return "video" if self.content_type == "audioVideo" else "audio"

    @property
    def has_video(self) -> bool:
        return self.content_type == "audioVideo" and self.format == "mp4"

    def event_values(self) -> dict[str, str]:
        """The PascalCase spellings used in the event's data."""
        return {
            "recordingContentType": _pascal(self.content_type),
            "recordingChannelType": _pascal(self.channel_type),
            "recordingFormatType": _pascal(self.format),
        }


def _pascal(value: str) -> str:
    return value[0].upper() + value[1:]


def canonical(value: object, allowed: tuple[str, ...], field: str) -> str:
    """Map ``value`` case-insensitively onto one of ``allowed``, or raise a 400."""
    if isinstance(value, str):
        for candidate in allowed:
            if candidate.lower() == value.lower():
                return candidate
    raise bad_request(f"{field} must be one of {', '.join(allowed)}", field)


def kind_from_request(
    content_type: object, channel_type: object, format_type: object, *, strict: bool
) -> RecordingKind:
    """Parse the three enums with ACS's defaults; ``strict`` rejects unsupported combinations.

    Defaults follow the service: audio and video, mixed, and the one format that fits.
    """
    content = (
        "audioVideo"
        if content_type is None
        else canonical(content_type, CONTENT_TYPES, "recordingContentType")
    )
    channel = (
        "mixed" if channel_type is None else canonical(channel_type, CHANNEL_TYPES, "recordingChannelType")
    )
    if format_type is None:
        fmt = "mp4" if content == "audioVideo" else ("wav" if channel == "unmixed" else "mp3")
    else:
        fmt = canonical(format_type, FORMATS, "recordingFormatType")
    if strict and (content, channel, fmt) not in VALID_COMBINATIONS:
        raise bad_request(
            f"unsupported combination: content {content}, channel {channel}, format {fmt}",
            "recordingFormatType",
        )
    return RecordingKind(content, channel, fmt)

"""What happens to each audio track of the source: copied as it is, or re-encoded, and to what.

Every track whose codec the output container can hold is copied bit for bit (PCM in MOV, MKV and
AVI; FLAC, ALAC and Opus where the container allows them). Only a track the container cannot hold
is re-encoded, and then losslessly for the archive containers: PCM at the source's sample depth in
MOV and AVI (the ProRes master), FLAC in MKV (the FFV1 master). MP4 (h264/h265 for delivery) gets
AAC, the one lossy choice. PCM is never put in MP4: few players read it there.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from restore.media.probe import StreamInfo

__all__ = ["AudioTrack", "plan_audio", "audio_arguments", "sample_depth"]

_PCM = {
    f"pcm_{kind}"
    for kind in (
        "s16le", "s16be", "s24le", "s24be", "s32le", "s32be", "f32le", "f32be", "f64le", "f64be",
        "s8", "u8", "alaw", "mulaw",
    )
}  # fmt: skip
#: codecs each container holds (Matroska holds every audio codec FFmpeg knows)
HOLDS: dict[str, frozenset[str] | None] = {
    "mov": frozenset(_PCM | {"aac", "alac", "mp3", "mp2", "ac3", "eac3", "adpcm_ima_qt"}),
    "mp4": frozenset({"aac", "alac", "mp3", "mp2", "ac3", "eac3", "opus", "flac"}),
    "avi": frozenset({"pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_u8", "pcm_alaw"}
                     | {"pcm_mulaw", "mp3", "mp2", "ac3", "aac", "flac"}),
    "matroska": None,
}  # fmt: skip
_SAMPLE_FORMAT = re.compile(r"\b(u8|s16|s32|s64|flt|dbl)p?\b(?: \((\d+) bit\))?")


@dataclass(frozen=True)
class AudioTrack:
    """One source track in the output: ``encoder`` is ``copy`` or the encoder it is re-encoded with."""

    index: int
    codec: str
    encoder: str
    options: tuple[str, ...] = ()

    @property
    def copied(self) -> bool:
        return self.encoder == "copy"

    def describe(self, container: str) -> str:
        """``audio #1 pcm_s24le: copied`` or ``audio #1 vorbis: re-encoded to pcm_s24le (...)``."""
        name = f"audio #{self.index} {self.codec}"
        if self.copied:
            return f"{name}: copied"
        return f"{name}: re-encoded to {self.encoder} ({container.upper()} cannot hold {self.codec})"


def sample_depth(stream: StreamInfo) -> str:
    """``16``, ``24`` or ``32`` bits of integer samples, or ``float``, from FFmpeg's stream line."""
    match = _SAMPLE_FORMAT.search(stream.details)
    if match is None:
        return "24"
    kind, bits = match.groups()
    if kind in ("flt", "dbl"):
        return "float"
    if kind in ("u8", "s16"):
        return "16"
    return bits if bits in ("24", "32") else "32"


def _reencoding(container: str, stream: StreamInfo) -> tuple[str, tuple[str, ...]]:
    """(encoder, options) for a track ``container`` cannot hold: lossless except in MP4."""
    depth = sample_depth(stream)
    if container == "mp4":
        return "aac", ("320k",)
    if container == "matroska" and depth in ("16", "24"):
        return "flac", ("s16" if depth == "16" else "s32",)
    pcm = {"16": "pcm_s16le", "24": "pcm_s24le", "32": "pcm_s32le", "float": "pcm_f32le"}[depth]
    return pcm, ()


def plan_audio(container: str, audio: Sequence[StreamInfo]) -> tuple[AudioTrack, ...]:
    """For each source audio track (in order): copy it, or re-encode it to what ``container`` holds."""
    held = HOLDS.get(container)
    tracks = []
    for stream in audio:
        if held is None or stream.codec in held:
            tracks.append(AudioTrack(stream.index, stream.codec, "copy"))
        else:
            encoder, options = _reencoding(container, stream)
            tracks.append(AudioTrack(stream.index, stream.codec, encoder, options))
    return tuple(tracks)


def audio_arguments(tracks: Sequence[AudioTrack], source_input: int = 1) -> list[str]:
    """FFmpeg output arguments mapping and coding ``tracks`` from input number ``source_input``."""
    args: list[str] = []
    for n, track in enumerate(tracks):
        args += ["-map", f"{source_input}:{track.index}", f"-c:a:{n}", track.encoder]
        if track.encoder == "aac":
            args += [f"-b:a:{n}", track.options[0]]
        elif track.encoder == "flac":
            args += [f"-sample_fmt:a:{n}", track.options[0]]
    return args

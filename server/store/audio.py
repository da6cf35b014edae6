"""Candidate recordings as WAV files in the data folder, one per turn."""

from __future__ import annotations

import os
import re
import tempfile
import wave
from pathlib import Path

AUDIO_DIR = "audio"
_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def check_id(value: str, what: str) -> str:
    """Ids become path parts: allow only plain names, never `..` or a slash."""
    if not _SAFE_ID.fullmatch(value) or ".." in value:
        raise ValueError(f"{what} {value!r} is not a plain id (letters, digits, _ . -)")
    return value


def relative_audio_path(session_id: str, turn_id: str) -> str:
    """Where a turn's WAV lives, relative to the data folder (POSIX separators)."""
    return f"{AUDIO_DIR}/{check_id(session_id, 'session id')}/{check_id(turn_id, 'turn id')}.wav"


def write_wav(path: Path, pcm16: bytes, sample_rate: int) -> None:
    """Write mono PCM16 LE as a WAV, atomically: a reader never sees half a file."""
    if len(pcm16) % 2:
        raise ValueError(f"PCM16 audio of {len(pcm16)} bytes is not whole samples")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".wav", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(sample_rate)
            wav.writeframes(pcm16)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def resolve_audio(data_dir: Path, audio_path: str) -> Path | None:
    """The file of a stored relative path, only if it is inside the data folder's audio/."""
    root = (data_dir / AUDIO_DIR).resolve()
    path = (data_dir / audio_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path

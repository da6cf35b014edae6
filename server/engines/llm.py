"""The optional LLM: any OpenAI-compatible chat endpoint, through the `openai` package.

The LLM only *words* the interviewer's turn; the rubric already decided what to
probe. Its reply is JSON, streamed: each string field is validated as soon as
its closing quote arrives, so the acknowledgement can be spoken while the
follow-up is still being written. A field that is missing, invalid or late is
None, and the caller uses the rule-based wording for it instead.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from string import Template
from typing import TYPE_CHECKING, Any, Literal, cast

import jiter
from pydantic import BaseModel, Field, ValidationError, field_validator

from server.resources import shipped_dir

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

log = logging.getLogger("viva.llm")
PROMPTS_DIR = shipped_dir("prompts")
JsonMode = Literal["object", "schema", "prompt"]


def _speakable_sentence(value: str, max_words: int) -> str:
    value = " ".join(value.split())
    words = value.split()
    if not 2 <= len(words) <= max_words:
        raise ValueError(f"needs 2-{max_words} words, got {len(words)}")
    if re.search(r"[{}\[\]<>`#*|\\]", value):
        raise ValueError("contains markup a voice cannot read")
    return value


class TurnWording(BaseModel):
    """What the LLM may write for one interviewer turn; every field optional."""

    feedback: str | None = Field(default=None)
    acknowledgement: str | None = Field(default=None)
    follow_up: str | None = Field(default=None)

    @field_validator("feedback")
    @classmethod
    def _feedback(cls, value: str | None) -> str | None:
        return None if value is None else _speakable_sentence(value, 60)

    @field_validator("acknowledgement")
    @classmethod
    def _ack(cls, value: str | None) -> str | None:
        # At most a dozen words, as the rule wording (replies.ACK_MAX_WORDS): a backchannel.
        return None if value is None else _speakable_sentence(value, 12)

    @field_validator("follow_up")
    @classmethod
    def _follow_up(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = _speakable_sentence(value, 45)
        if not value.endswith("?"):
            raise ValueError("a follow-up must be a question")
        return value


TURN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "feedback": {"type": "string"},
        "acknowledgement": {"type": "string"},
        "follow_up": {"type": "string"},
    },
    "required": ["feedback", "acknowledgement", "follow_up"],
}


def load_prompt(name: str) -> Template:
    return Template((PROMPTS_DIR / f"{name}.md").read_text(encoding="utf-8"))


class FieldStream:
    """Completed, validated string fields of a streamed JSON object, as they close.

    The text so far is parsed by jiter in partial mode "on": an unfinished string is
    left out, so a field appears exactly when its closing quote has arrived, never as
    half a sentence (which "trailing-strings" would hand out). Only top-level fields
    count, and a field once resolved stays. Any parse error means the rest of the reply
    cannot be read: every field still open resolves to None at once."""

    def __init__(self, fields: tuple[str, ...]) -> None:
        loop = asyncio.get_running_loop()
        self._futures: dict[str, asyncio.Future[str | None]] = {f: loop.create_future()
                                                                 for f in fields}
        self.text = ""
        self.errors: list[str] = []
        self._broken = False

    def feed(self, chunk: str) -> None:
        self.text += chunk
        # A string value closes only with a quote: a chunk without one completes no
        # field; parsing only the others cuts a reply from 320 to about 60 us
        # (bench/field_stream.py).
        if '"' in chunk:
            self._parse()

    def _parse(self) -> None:
        if self._broken or all(future.done() for future in self._futures.values()):
            return
        # Without a JSON grammar (json_mode "prompt") a model may open with words or a
        # ``` fence: the object starts at the first brace.
        start = self.text.find("{")
        if start < 0:
            return
        try:
            data = jiter.from_json(self.text[start:].encode("utf-8"), partial_mode="on")
        except ValueError as exc:  # bad JSON; UnicodeEncodeError (lone surrogate) too
            self._give_up(f"unreadable reply: {str(exc)[:120]}")
            return
        if not isinstance(data, dict):
            self._give_up("reply is not a JSON object")
            return
        for name, value in data.items():
            future = self._futures.get(name)
            if future is None or future.done():
                continue
            if value is None:
                self.errors.append(f"{name}: null")
                future.set_result(None)
                continue
            try:
                checked = TurnWording.model_validate({name: value})
                future.set_result(getattr(checked, name))
            except ValidationError as exc:
                self.errors.append(f"{name}: {exc.errors()[0]['msg']}"[:200])
                future.set_result(None)

    def _give_up(self, error: str) -> None:
        self._broken = True
        self.errors.append(error)
        for future in self._futures.values():
            if not future.done():
                future.set_result(None)

    def finish(self, error: str | None = None) -> None:
        """The stream ended (or failed): fields never written resolve to None."""
        if error:
            self.errors.append(error)
        else:
            self._parse()  # a last value that closed without a quote (a number, null)
            try:
                TurnWording.model_validate_json(self.text)
            except ValidationError as exc:
                self.errors.append(f"whole reply: {exc.errors()[0]['msg']}")
        for name, future in self._futures.items():
            if not future.done():
                self.errors.append(f"{name}: missing")
                future.set_result(None)

    async def get(self, name: str, deadline: float) -> str | None:
        remaining = deadline - time.monotonic()
        try:
            return await asyncio.wait_for(asyncio.shield(self._futures[name]), max(0.0, remaining))
        except TimeoutError:
            self.errors.append(f"{name}: timeout")
            return None


class ChatLLM:
    """A chat endpoint that streams JSON; one client shared by every session."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None,
                 timeout_s: float = 6.0, json_mode: JsonMode = "object",
                 max_tokens: int = 220) -> None:
        from openai import AsyncOpenAI

        self.model = model
        self.name = f"{model} at {base_url}"
        self.timeout_s = timeout_s
        self.json_mode = json_mode
        self.max_tokens = max_tokens
        # Local servers take any key; the SDK insists on one.
        self._client = AsyncOpenAI(base_url=base_url, api_key=api_key or "not-needed",
                                   timeout=timeout_s, max_retries=0)

    def _response_format(self) -> dict[str, Any] | None:
        if self.json_mode == "object":  # llama.cpp and Ollama: grammar from the schema
            return {"type": "json_object", "schema": TURN_SCHEMA}
        if self.json_mode == "schema":  # OpenAI, vLLM
            return {"type": "json_schema",
                    "json_schema": {"name": "turn", "schema": TURN_SCHEMA}}
        return None

    def stream_turn(self, messages: list[dict[str, str]],
                    on_done: Callable[[FieldStream], None] | None = None) -> FieldStream:
        """Start streaming one turn's wording; read fields with `FieldStream.get`."""
        fields = FieldStream(("feedback", "acknowledgement", "follow_up"))

        async def run() -> None:
            error = None
            try:
                # The body as is: llama.cpp's `json_object` takes a `schema`, which the
                # SDK's typed `response_format` has no place for.
                response_format = self._response_format()
                body = None if response_format is None else {"response_format": response_format}
                # Past the turn's deadline no field is used: the stream stops there rather
                # than go on writing up to max_tokens, which held the next turns of a
                # shared llama.cpp server behind it (bench.llm_parts: a reply ran 66 s).
                stream = None
                try:
                    async with asyncio.timeout(self.timeout_s):
                        stream = await self._client.chat.completions.create(
                            model=self.model,
                            messages=cast("list[ChatCompletionMessageParam]", messages),
                            stream=True, temperature=0.4, max_tokens=self.max_tokens,
                            extra_body=body)
                        async for chunk in stream:
                            if chunk.choices and chunk.choices[0].delta.content:
                                fields.feed(chunk.choices[0].delta.content)
                finally:
                    if stream is not None:  # the connection goes back (the server stops)
                        await stream.close()
            except TimeoutError:
                error = f"stream cut at the {self.timeout_s:g} s deadline"
            except Exception as exc:  # any failure means: rule-based wording this turn
                error = f"{type(exc).__name__}: {str(exc)[:200]}"
            fields.finish(error)
            if on_done is not None:
                on_done(fields)

        task = asyncio.ensure_future(run())
        fields.task = task  # type: ignore[attr-defined]  # keeps it alive
        return fields

    async def close(self) -> None:
        await self._client.close()

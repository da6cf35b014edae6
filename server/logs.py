"""Secrets kept out of every log line: access keys and session tokens, redacted.

uvicorn's access log writes each request's full path, query string and all, so
`?key=...` and a review link's `?token=...` would sit in clear in any log file
(the README promises tokens are stored only as hashes). A filter on every handler
rewrites them before any line is formatted, viva's own lines included.
"""

from __future__ import annotations

import logging
import re

#: `key=...`, `token=...`, `access_key=...` in a query string or a message.
_SECRET = re.compile(r"(?i)((?<![A-Za-z0-9_])(?:access_key|api_key|key|token)=)[^&\s\"'#]+")
REDACTED = "[redacted]"
#: uvicorn's loggers, whose handlers are set up by uvicorn itself.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: m.group(1) + REDACTED, text) if "=" in text else text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            # Its formatter takes the arguments apart (client, method, path, ...): keep
            # them apart, and redact each; the path carries the query string.
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
            return True
        # Everything else as one finished line: a secret may sit in the template
        # ("token=%s") or in an argument, and redacting either alone misses the pair.
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a broken template: leave it to logging to report
            return True
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def install_redaction() -> RedactSecrets:
    """Add the filter to the root's and uvicorn's handlers and loggers (call it after
    uvicorn has configured logging: `uvicorn.Config(...)` does that). Idempotent."""
    found = [f for f in logging.getLogger().filters if isinstance(f, RedactSecrets)]
    shared = found[0] if found else RedactSecrets()
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in UVICORN_LOGGERS)]
    for logger in loggers:
        for target in (logger, *logger.handlers):
            if not any(isinstance(f, RedactSecrets) for f in target.filters):
                target.addFilter(shared)
    return shared

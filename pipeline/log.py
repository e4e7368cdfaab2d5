"""Structured logging: one line per event, ``key=value`` (logfmt) or JSON.

Call sites log a short message plus fields in ``extra=``; the formatter puts
the fields on the line so logs can be grepped and parsed.

Must not touch: what is logged (each stage decides), any stage's logic.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

_STD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _fields(record: logging.LogRecord) -> dict:
    return {k: v for k, v in vars(record).items() if k not in _STD_ATTRS and v is not None}


def _quote(v: object) -> str:
    s = str(v)
    if s == "" or any(c in s for c in ' ="\n'):
        return json.dumps(s, ensure_ascii=False)
    return s


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        parts = [f"ts={ts}", f"level={record.levelname.lower()}", f"msg={_quote(record.getMessage())}"]
        parts += [f"{k}={_quote(v)}" for k, v in _fields(record).items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="seconds"),
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
            **{k: v if isinstance(v, (int, float, bool, str)) else str(v) for k, v in _fields(record).items()},
        }
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def setup_logging(level: str = "info", fmt: str = "logfmt") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else LogfmtFormatter())
    root = logging.getLogger("escalation_watch")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False

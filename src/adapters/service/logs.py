"""Logging of `serve` and `worker`: plain text, or one JSON object a line (`--log-format json`)
carrying the correlation id of the request (or worker step) it happened in."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from ...domain.context import correlation_var

FORMATS = ("text", "json")
LOG_FORMAT_ENV = "PROVLEDGER_LOG_FORMAT"
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "pid", "correlation_id", ...extra}`, one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        correlation = getattr(record, "correlation_id", None) or correlation_var.get()
        if correlation:
            entry["correlation_id"] = correlation
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def checked_format(value: str) -> str:
    if value not in FORMATS:
        raise ValueError(f"--log-format must be one of {', '.join(FORMATS)}, not {value!r}")
    return value


def logging_config(log_format: str, level: str = "info") -> dict[str, Any]:
    """A `logging.config.dictConfig` for provledger's and uvicorn's loggers (uvicorn takes it as
    `log_config`, also in each of its worker processes)."""
    level = level.upper()
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"}
        if log_format == "json"
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    handler = {"class": "logging.StreamHandler", "formatter": "main", "stream": "ext://sys.stderr"}
    loggers: dict[str, Any] = {
        "provledger": {"handlers": ["main"], "level": level, "propagate": False},
        "uvicorn": {"handlers": ["main"], "level": level, "propagate": False},
        "uvicorn.error": {"level": level},
        # JSON: provledger's own access lines carry the correlation id; uvicorn's do not.
        "uvicorn.access": {
            "handlers": ["main"],
            "level": "WARNING" if log_format == "json" else level,
            "propagate": False,
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {"main": handler},
        "loggers": loggers,
    }


def configure(log_format: str, level: str = "info") -> None:
    import logging.config

    logging.config.dictConfig(logging_config(log_format, level))

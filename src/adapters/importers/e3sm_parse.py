"""Parsers for the files of an E3SM execution directory (the fields SimBoard reads).

Each parser takes the decompressed bytes/text of one file and returns plain values; they raise
ValueError with a clear message for content that cannot be parsed (invalid XML).
"""

from __future__ import annotations

import calendar
import contextlib
import re
import shlex
from datetime import UTC, date, datetime, timedelta
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

EXPERIMENT_TYPES = frozenset(
    {
        "piControl",
        "historical",
        "amip",
        "abrupt-4xCO2",
        "1pctCO2",
        "ssp119",
        "ssp126",
        "ssp245",
        "ssp370",
        "ssp585",
        "esm-hist",
        "esm-piControl",
    }
)

_GIT_DESCRIBE = re.compile(r"^(?P<tag>v[\w.\-]+)(?:-\d+)?-g(?P<hash>[0-9a-f]+)")
_CASE_STATUS = re.compile(
    r"^(?P<ts>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}):\s+case\.run\s+(?P<what>starting|success|error)"
)
_TIMING_LINE = re.compile(r"^\s*(?P<key>[A-Za-z][A-Za-z ]*?)\s*:\s*(?P<value>.*?)\s*$")
_NUMBER = r"([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)"
_SECONDS = re.compile(rf"^\s*(Init|Run|Final) Time\s*:\s*{_NUMBER}\s*seconds")
_OVERALL = re.compile(rf"^\s*Model (Cost|Throughput)\s*:\s*{_NUMBER}\s*(\S+)")


def xml_entries(data: bytes) -> dict[str, str]:
    """`<entry id="X" value="V"/>` (value preferred) or `<entry id="X">V</entry>`, first wins."""
    try:
        root = fromstring(data)
    except (ParseError, DefusedXmlException) as e:
        raise ValueError(f"invalid XML: {e}") from e
    out: dict[str, str] = {}
    for entry in root.iter("entry"):
        key = entry.get("id")
        if not key or key in out:
            continue
        value = entry.get("value")
        if value is None:
            value = (entry.text or "").strip()
        out[key] = value
    return out


def readme_case(text: str) -> dict[str, Any]:
    """First-line timestamp, `--res` (grid_name), `--compset` (compset), the create_newcase line."""
    out: dict[str, Any] = {}
    lines = text.splitlines()
    if lines:
        stamp = lines[0][:19]
        with contextlib.suppress(ValueError):
            out["creation_date"] = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").isoformat()
    for line in lines:
        if "create_newcase" not in line:
            continue
        command = line.split(": ", 1)[1] if re.match(r"^\d{4}-\d{2}-\d{2} ", line) else line
        tokens = command.split()
        if '"' in command or "'" in command:
            with contextlib.suppress(ValueError):
                tokens = shlex.split(command)
        out["command"] = tokens
        for flag, key in (("--res", "grid_name"), ("--compset", "compset")):
            value = _flag(tokens, flag)
            if value is not None:
                out[key] = value
        break
    return out


def _flag(tokens: list[str], flag: str) -> str | None:
    for i, token in enumerate(tokens):
        if token == flag and i + 1 < len(tokens):
            return tokens[i + 1]
        if token.startswith(flag + "="):
            return token.split("=", 1)[1]
    return None


def case_status(text: str) -> tuple[str, datetime | None, datetime | None]:
    """(status, run start, run end) from the latest `case.run starting` and the line after it.

    status: succeeded | failed | running | unknown (no `case.run starting` at all).
    """
    events = []
    for line in text.splitlines():
        m = _CASE_STATUS.match(line)
        if m:
            events.append((m["what"], datetime.fromisoformat(m["ts"]).replace(tzinfo=UTC)))
    starts = [i for i, (what, _) in enumerate(events) if what == "starting"]
    if not starts:
        return "unknown", None, None
    first = starts[-1]
    started = events[first][1]
    for what, ts in events[first + 1 :]:
        if what == "success":
            return "succeeded", started, ts
        if what == "error":
            return "failed", started, ts
    return "running", started, None


# Header lines of the timing file (CIME get_timing.py) -> keys of `timing()`'s result.
_HEADER = {
    "Case": "case",
    "Machine": "machine",
    "Caseroot": "case_root",
    "User": "user",
    "grid": "grid",
    "compset": "compset",
    "run type": "run_type",
    "stop option": "stop_option",
    "run length": "run_length",
}


def timing(text: str) -> dict[str, Any]:
    """LID, Curr Date, header fields and Init/Run/Final seconds; run start derived from them.

    `curr_date` and `run_start` are naive: CIME writes `Curr Date` with `ctime()` in the
    machine's local time, whose zone the file does not state. `run_start` is only derived when
    Curr Date and all three of Init/Run/Final Time are there and numeric (never from a missing
    part), to the second as SimBoard does. The first occurrence of each line wins."""
    out: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    for line in text.splitlines():
        m = _SECONDS.match(line)
        if m:
            seconds.setdefault(m[1].lower(), float(m[2]))
            continue
        m = _OVERALL.match(line)
        if m:
            out.setdefault(f"model_{m[1].lower()}", (float(m[2]), m[3]))
            continue
        m = _TIMING_LINE.match(line)
        if not m:
            continue
        key, value = m["key"].strip(), m["value"]
        if key == "LID" and "lid" not in out:
            out["lid"] = value.split()[0] if value.split() else ""
        elif key == "Curr Date" and "curr_date" not in out:
            with contextlib.suppress(ValueError):
                out["curr_date"] = datetime.strptime(value, "%a %b %d %H:%M:%S %Y")
        elif key in _HEADER and _HEADER[key] not in out and value:
            out[_HEADER[key]] = value
    out["seconds"] = seconds
    out.update(_header_values(out))
    end = out.get("curr_date")
    if end is not None and len(seconds) == 3:
        start = end - timedelta(seconds=sum(seconds.values()))
        out["run_start"] = start.replace(microsecond=0)
    return out


_RUN_TYPE = re.compile(r"^\s*([^,\s]+)")
_STOP = re.compile(r"^\s*([^,\s]+)\s*,\s*stop_n\s*=\s*(\S+)")
_RUN_LENGTH = re.compile(r"^\s*(\d+)\s+days")


def _header_values(out: dict[str, Any]) -> dict[str, str]:
    """`run type : startup, continue_run = …` -> startup; `stop option : nyears, stop_n = 1`
    -> (nyears, 1); `run length : 365 days (…)` -> 365."""
    values: dict[str, str] = {}
    m = _RUN_TYPE.match(out.get("run_type", ""))
    if m:
        values["run_type"] = m[1]
    m = _STOP.match(out.get("stop_option", ""))
    if m:
        values["stop_option"], values["stop_n"] = m[1], m[2]
    m = _RUN_LENGTH.match(out.get("run_length", ""))
    if m:
        values["run_length_days"] = m[1]
    return values


_FALLBACK_TAG = re.compile(r"^([^-]+)")
_FALLBACK_HASH = re.compile(r"-g([0-9a-f]+)$")


def git_describe(text: str) -> tuple[str | None, str | None]:
    """(tag, commit) as SimBoard reads GIT_DESCRIBE: `v…-N-g<hash>` by the tag pattern, any
    other line by its text up to the first `-` and a trailing `-g<hash>`; the last line wins."""
    tag: str | None = None
    commit: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = _GIT_DESCRIBE.match(line)
        if m:
            tag, commit = m["tag"], m["hash"]
            continue
        t = _FALLBACK_TAG.match(line)
        if t:
            tag = t[1]
        h = _FALLBACK_HASH.search(line)
        if h:
            commit = h[1]
    return tag, commit


def git_remote_url(text: str) -> str | None:
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.strip() == "url":
            url = value.strip()
            m = re.match(r"^[\w.-]+@([\w.-]+):(.+)$", url)
            return f"https://{m[1]}/{m[2]}" if m else url
    return None


def git_status(text: str) -> tuple[str | None, bool | None]:
    branch = None
    for line in text.splitlines():
        if line.startswith("On branch "):
            branch = line.removeprefix("On branch ").strip()
            break
    if "nothing to commit" in text:
        return branch, False
    if "Changes not staged" in text or "Changes to be committed" in text:
        return branch, True
    return branch, None


def derived_names(case_name: str | None) -> dict[str, str]:
    """campaign (case without a trailing `_NNNN`, only for dotted names) and experiment_type."""
    if not case_name or "." not in case_name:
        return {}
    campaign = re.sub(r"_\d+$", "", case_name)
    out = {"campaign": campaign}
    last = campaign.rsplit(".", 1)[-1]
    if last in EXPERIMENT_TYPES:
        out["experiment_type"] = last
    return out


def simulation_dates(run: dict[str, str]) -> dict[str, str]:
    """simulation_start_date / simulation_end_date from RUN_TYPE, RUN_*DATE and STOP_*."""
    out: dict[str, str] = {}
    key = "RUN_REFDATE" if run.get("RUN_TYPE") == "branch" else "RUN_STARTDATE"
    start = _date(run.get(key), "%Y-%m-%d")
    if start is None:
        return out
    out["simulation_start_date"] = start.isoformat()
    option, end = run.get("STOP_OPTION", ""), None
    if option == "date":
        end = _date(run.get("STOP_DATE"), "%Y%m%d")
    elif option in ("ndays", "nmonths", "nyears"):
        try:
            n = int(run.get("STOP_N", ""))
        except ValueError:
            n = -1
        if n >= 0:
            end = _add(start, option, n)
    if end is not None:
        out["simulation_end_date"] = end.isoformat()
    return out


def _date(value: str | None, fmt: str) -> date | None:
    if not value:
        return None
    try:
        if fmt == "%Y-%m-%d":
            y, m, d = (int(p) for p in value.split("-"))
            return date(y, m, d)
        return date(int(value[:-4]), int(value[-4:-2]), int(value[-2:]))
    except (ValueError, TypeError):
        return None


def _add(start: date, option: str, n: int) -> date | None:
    try:
        if option == "ndays":
            return start + timedelta(days=n)
        months = n if option == "nmonths" else 12 * n
        total = start.month - 1 + months
        year, month = start.year + total // 12, total % 12 + 1
        return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))
    except (ValueError, OverflowError):
        return None


_VARIABLE = re.compile(r"\$(?:\{(CASE|CIME_OUTPUT_ROOT)\}|(CASE|CIME_OUTPUT_ROOT)(?![A-Za-z0-9_]))")


def substitute(path: str | None, values: dict[str, str]) -> str | None:
    """Expand `$CASE`, `${CASE}`, `$CIME_OUTPUT_ROOT`, `${CIME_OUTPUT_ROOT}` (others stay)."""
    if not path:
        return path

    def expand(m: re.Match[str]) -> str:
        return values.get(m[1] or m[2]) or m[0]

    return _VARIABLE.sub(expand, path)

"""Running a command: exact argv, exit status, output tee'd to the terminal and to log files.

The child gets its own process group; SIGINT/SIGTERM received by provledger are forwarded to
that group and the execution ends `cancelled`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

TAIL_LINES = 50
KILL_GRACE_SECONDS = 10.0
CHUNK = 64 * 1024


@dataclass
class ProcessResult:
    command: list[str]
    started: datetime
    ended: datetime
    exit_code: int | None
    stdout_path: Path
    stderr_path: Path
    cancelled: bool = False
    signal_name: str | None = None
    error: str | None = None
    stdout_tail: list[str] = field(default_factory=list)
    stderr_tail: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return self.exit_code == 0 and not self.cancelled and self.error is None


def _pump(source: IO[bytes], sink: IO[bytes], echo: IO[bytes] | None) -> None:
    fd = source.fileno()
    while chunk := os.read(fd, CHUNK):
        sink.write(chunk)
        if echo is not None:
            with contextlib.suppress(OSError, ValueError):
                echo.write(chunk)
                echo.flush()
    source.close()


def tail(path: Path, lines: int = TAIL_LINES, max_bytes: int = 64 * 1024) -> list[str]:
    """The last `lines` lines of a (possibly huge) log file, read from its end."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - max_bytes))
            data = f.read()
    except OSError:
        return []
    text = data.decode("utf-8", errors="replace")
    return list(deque(text.splitlines(), maxlen=lines))


@contextlib.contextmanager
def _forwarding(on_signal: Callable[[int], None]) -> Iterator[None]:
    """Route SIGINT/SIGTERM to `on_signal` while the child runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.getsignal(s) for s in wanted}
    for s in wanted:
        signal.signal(s, lambda signum, _frame: on_signal(signum))
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def run_process(
    command: list[str],
    cwd: Path,
    log_dir: Path,
    *,
    echo: bool = True,
    echo_stdout_to_stderr: bool = False,
    on_started: Callable[[int], None] | None = None,
    env: dict[str, str] | None = None,
) -> ProcessResult:
    """Run to completion; never raises for a failing or missing command (see `.error`).

    `echo_stdout_to_stderr` keeps our own stdout clean for `--json`."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / "stdout.log", log_dir / "stderr.log"
    started = datetime.now(UTC)
    state: dict[str, Any] = {"cancelled": False, "signal": None}
    try:
        child = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            process_group=0,
            env=env,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError, OSError) as e:
        out_path.write_bytes(b"")
        message = _launch_error(command[0], e)
        err_path.write_text(message + "\n")
        now = datetime.now(UTC)
        code = 127 if isinstance(e, FileNotFoundError) else 126
        return ProcessResult(
            command, started, now, code, out_path, err_path, error=message, stderr_tail=[message]
        )

    def on_signal(signum: int) -> None:
        first = not state["cancelled"]
        state["cancelled"], state["signal"] = True, signal.Signals(signum).name
        _signal_group(child.pid, signum)
        if first:  # a child that ignores the signal is killed after a grace period
            killer = threading.Timer(KILL_GRACE_SECONDS, _signal_group, (child.pid, signal.SIGKILL))
            killer.daemon = True
            killer.start()

    if on_started:
        on_started(child.pid)
    assert child.stdout is not None
    assert child.stderr is not None
    out_echo = (sys.stderr if echo_stdout_to_stderr else sys.stdout).buffer if echo else None
    with open(out_path, "wb") as out, open(err_path, "wb") as err, _forwarding(on_signal):
        pumps = [
            threading.Thread(target=_pump, args=(child.stdout, out, out_echo)),
            threading.Thread(
                target=_pump, args=(child.stderr, err, sys.stderr.buffer if echo else None)
            ),
        ]
        for t in pumps:
            t.start()
        code = child.wait()
        for t in pumps:
            t.join()
    return ProcessResult(
        command,
        started,
        datetime.now(UTC),
        code,
        out_path,
        err_path,
        cancelled=bool(state["cancelled"]),
        signal_name=state["signal"],
        stdout_tail=tail(out_path),
        stderr_tail=tail(err_path),
    )


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _launch_error(program: str, error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return f"command not found: {program}"
    if isinstance(error, PermissionError):
        return f"permission denied: {program} is not executable"
    return f"cannot start {program}: {error.strerror or error}"

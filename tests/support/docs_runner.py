"""Run a Markdown file's fenced examples as a user would type them (test_docs_examples.py).

Parsing (`parse`) turns a doc into steps, in the doc's order:

- `sh`, `bash`, `shell`, `console` blocks, and bare or `text` blocks with a line starting with
  `$ `, `provledger `, `curl `, `python `, `export `, `PROVLEDGER_` or `make `, are shell. A
  block with `$ ` prompts is a session: each `$ command` runs on its own and the lines after it,
  up to the next prompt, are its expected output (checked after `normalise`). A block without
  prompts runs as one bash script (`set -e`; the failing line is named).
- `python` blocks run with the project's Python.
- `output` blocks are the expected output of the command before them.
- Any other block (diagrams, JSON, YAML, TOML) is data and is not run, unless a `file` marker
  writes it to a file.

Markers are HTML comments (invisible on GitHub) on their own line(s) right before a block:

- `<!-- docs-test: skip (reason) -->`: the next block is not run (the reason is required).
- `<!-- docs-test: background, wait for http://127.0.0.1:8000/healthz -->`: the next block's
  commands start in the background; the harness waits for the URL to answer, and stops them
  when the doc is done. Its port is swapped for a free one everywhere in the doc.
- `<!-- docs-test: file PATH -->`: the next block is written to PATH (a config the doc shows).
- `<!-- docs-test: setup` … `-->`: hidden shell lines run at that point (the small fixtures a
  doc needs that a reader already has: a model script, a data file).
- `<!-- docs-test: setup-background, wait for URL` … `-->`: hidden commands started in the
  background (a remote ledger the doc's commands talk to).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

SHELL_LANGS = {"sh", "bash", "shell", "console", "zsh"}
MARKER = re.compile(r"^\s*<!--\s*docs-test:\s*(?P<body>.*?)\s*(?P<end>-->)?\s*$")
FENCE = re.compile(r"^(?P<indent>\s{0,6})(?P<fence>```+|~~~+)\s*(?P<info>[^`\s]*)")
COMMAND_TIMEOUT = 90.0
# A bare or `text` block with a line starting so is commands, not a diagram.
COMMAND_WORDS = ("$ ", "provledger ", "curl ", "python ", "export ", "PROVLEDGER_", "make ")


@dataclass
class Step:
    kind: str  # "script" | "session" | "python" | "output" | "file" | "background" | "setup"
    line: int  # 1-based line of the block in the doc
    text: str
    path: str = ""  # file: where to write; background: the URL to wait for
    commands: list[tuple[str, list[str]]] = field(default_factory=list)  # session


@dataclass
class Parsed:
    steps: list[Step]
    skipped: list[tuple[int, str]]  # (line, reason)


def _blocks(text: str) -> list[tuple[int, str, str, list[str]]]:
    """(line, info, marker or '', lines) for each fenced block; markers before it."""
    out: list[tuple[int, str, str, list[str]]] = []
    lines = text.splitlines()
    i, marker = 0, ""
    while i < len(lines):
        line = lines[i]
        found = MARKER.match(line)
        if found:
            body = found["body"]
            if found["end"] is None:  # a multi-line marker: up to the closing -->
                rest = []
                i += 1
                while i < len(lines) and "-->" not in lines[i]:
                    rest.append(lines[i])
                    i += 1
                body = body + "\n" + "\n".join(rest)
            if body.startswith("setup-background"):
                first, *rest_lines = body.splitlines()
                out.append((i + 1, "", first.removeprefix("setup-"), rest_lines))
            elif body.startswith("setup"):
                out.append((i + 1, "", "setup", body.splitlines()[1:]))
            else:
                marker = body
            i += 1
            continue
        fence = FENCE.match(line)
        if fence:
            indent, mark = len(fence["indent"]), fence["fence"]
            start, body_lines = i + 1, []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith(mark):
                body_lines.append(lines[i][indent:] if lines[i][:indent].isspace() else lines[i])
                i += 1
            out.append((start, fence["info"].lower(), marker, body_lines))
            marker = ""
        elif line.strip():
            marker = "" if not line.lstrip().startswith("<!--") else marker
        i += 1
    return out


def _is_shell(info: str, lines: list[str]) -> bool:
    if info in SHELL_LANGS:
        return True
    if info in ("", "text"):
        return any(ln.startswith(COMMAND_WORDS) for ln in lines)
    return False


def _session(lines: list[str]) -> list[tuple[str, list[str]]]:
    commands: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            i += 1
            continue
        command = lines[i][2:]
        while command.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            command = command + "\n" + lines[i]
        expected: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith("$ "):
            expected.append(lines[i])
            i += 1
        commands.append((command, expected))
    return commands


def parse(text: str) -> Parsed:
    steps: list[Step] = []
    skipped: list[tuple[int, str]] = []
    for line, info, marker, lines in _blocks(text):
        body = "\n".join(lines) + "\n"
        if marker == "setup":
            steps.append(Step("setup", line, body))
            continue
        if marker.startswith("skip"):
            reason = marker[4:].strip(" ,()")
            if not reason:
                raise ValueError(f"line {line}: a docs-test skip marker needs a reason")
            skipped.append((line, reason))
            continue
        if marker.startswith("file"):
            steps.append(Step("file", line, body, path=marker[4:].strip()))
            continue
        if marker.startswith("background"):
            url = re.search(r"wait for\s+(\S+)", marker)
            steps.append(Step("background", line, body, path=url[1] if url else ""))
            continue
        if marker:
            raise ValueError(f"line {line}: unknown docs-test marker {marker!r}")
        if info == "python":
            steps.append(Step("python", line, body))
        elif info == "output":
            steps.append(Step("output", line, body))
        elif _is_shell(info, lines):
            if any(ln.startswith("$ ") for ln in lines):
                steps.append(Step("session", line, body, commands=_session(lines)))
            else:
                steps.append(Step("script", line, body))
    return Parsed(steps, skipped)


# --- checking output -------------------------------------------------------------------------

IDS = [
    re.compile(r"\b\d{8}T\d{6}-[0-9a-f]{8}\b"),
    re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"),
]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
NORMALISERS = [
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\b\d{8}T\d{6}-[0-9a-f]{8}\b"), "<run-id>"),
    (
        re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?"),
        "<time>",
    ),
    (re.compile(r"\b\d+:\d{2}:\d{2}\b"), "<duration>"),
    (re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,}\b"), "<hex>"),
    (re.compile(r"\b(position|positions|head) \d+"), r"\1 <n>"),
    (re.compile(r"plt_[A-Za-z0-9_-]+"), "plt_<token>"),
]


def normalise(text: str, cwd: Path | None = None) -> list[str]:
    text = ANSI.sub("", text)
    if cwd is not None:
        text = text.replace(str(cwd) + "/", "").replace(str(cwd), ".")
    for pattern, repl in NORMALISERS:
        text = pattern.sub(repl, text)
    lines = [ln.rstrip() for ln in text.splitlines()]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _line_pattern(expected: str) -> re.Pattern[str]:
    parts = re.split(r"…|\.\.\.", expected)
    return re.compile(".*?".join(re.escape(p) for p in parts) + r"\Z")


def output_matches(expected: list[str], actual: list[str]) -> bool:
    """Every expected line matches its actual line (`…` inside a line matches anything; a line
    that is only `…` matches any number of lines)."""

    def match(i: int, j: int) -> bool:
        if i == len(expected):
            return j == len(actual)
        if expected[i].strip() in ("…", "..."):
            return any(match(i + 1, k) for k in range(j, len(actual) + 1))
        return (
            j < len(actual)
            and bool(_line_pattern(expected[i]).match(actual[j]))
            and match(i + 1, j + 1)
        )

    return match(0, 0)


# --- running ---------------------------------------------------------------------------------

COMPOUND = re.compile(
    r"^\s*(for|while|until|if|then|else|elif|fi|do|done|case|esac|function)\b|[{}]\s*$|<<"
)


def guarded(script: str) -> str:
    """Each command line made to stop the block when it fails, `a && b` included (which
    `set -e` lets through); a block with loops, conditionals or here-documents runs as is."""
    lines: list[str] = []
    for line in script.splitlines():
        if lines and lines[-1].rstrip().endswith("\\"):
            lines[-1] += "\n" + line
        else:
            lines.append(line)
    if any(COMPOUND.search(line) for line in lines):
        return script
    out = []
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        shown = shlex.quote(line.strip().split("\n")[0][:200])
        out.append(f"{{ {line}\n}} || {{ echo docs-test: failed at: {shown} >&2; exit 1; }}")
    return "\n".join(out) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DocFailureError(AssertionError):
    pass


@dataclass
class Runner:
    """Runs one doc's steps in `cwd` with `env`; shell state (exports, cwd) carries over."""

    doc: str
    cwd: Path
    env: dict[str, str]
    python: str
    substitutions: list[tuple[re.Pattern[str], str]] = field(default_factory=list)
    background: list[subprocess.Popen[bytes]] = field(default_factory=list)
    ran: int = 0
    last_output: str = ""
    logs: list[IO[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = Path(tempfile.mkdtemp(prefix="docs-state-"))
        (self.state / "env.sh").write_text("")
        (self.state / "cwd").write_text(str(self.cwd))

    def substitute(self, text: str) -> str:
        for pattern, repl in self.substitutions:
            text = pattern.sub(lambda _, repl=repl: repl, text)  # type: ignore[misc]
        return text

    def _wrapped(self, script: str, *, strict: bool) -> str:
        state = self.state

        def q(path: Path) -> str:
            return shlex.quote(str(path))

        head = [
            f". {shlex.quote(str(state / 'env.sh'))} 2>/dev/null",
            f'cd "$(cat {shlex.quote(str(state / "cwd"))})"',
            "set -a",
            f'trap \'export -p | grep -v "^declare -[a-z]*r" > {q(state / "env.new")};'
            f" pwd > {q(state / 'cwd.new')}' EXIT",
        ]
        if strict:
            head.append("set -e")
            head.append("trap 'echo \"docs-test: failed at: $BASH_COMMAND\" >&2' ERR")
        return "\n".join(head) + "\n" + script

    def _background(self, command: str) -> str:
        """The doc's state, then the command (killed with its process group at the end)."""
        env, cwd = shlex.quote(str(self.state / "env.sh")), shlex.quote(str(self.state / "cwd"))
        return f'. {env} 2>/dev/null\ncd "$(cat {cwd})"\n{command}\n'

    def _commit_state(self) -> None:
        for name in ("env", "cwd"):
            new = self.state / f"{name}.new"
            if new.exists():
                new.replace(self.state / (f"{name}.sh" if name == "env" else name))

    def shell(self, script: str, *, strict: bool) -> subprocess.CompletedProcess[str]:
        args = ["bash", "-c", self._wrapped(self.substitute(script), strict=strict)]
        with subprocess.Popen(
            args,
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # a timeout kills what the block started, too
        ) as process:
            try:
                out, _ = process.communicate(timeout=COMMAND_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                out, _ = process.communicate()
                out += f"\ndocs-test: timed out after {COMMAND_TIMEOUT:.0f} s"
                out += " (a server? mark its block background)"
        self._commit_state()
        self.last_output = out
        return subprocess.CompletedProcess(args, process.returncode, out)

    def fail(self, step: Step, what: str, output: str) -> DocFailureError:
        tail = "\n".join(output.splitlines()[-40:])  # the end: where it failed
        return DocFailureError(f"{self.doc}:{step.line}: {what}\n--- output (end) ---\n{tail}")

    def run(self, step: Step) -> None:
        self.ran += 1
        if step.kind in ("script", "setup"):
            done = self.shell(guarded(step.text), strict=True)
            if done.returncode != 0:
                raise self.fail(step, f"block exited {done.returncode}", done.stdout)
        elif step.kind == "session":
            for command, expected in step.commands:
                done = self.shell(command, strict=False)
                self.check(step, command, expected, done)
        elif step.kind == "python":
            script = self.state / f"block_{step.line}.py"
            script.write_text(self.substitute(step.text))
            done = self.shell(f"{shlex.quote(self.python)} {shlex.quote(str(script))}", strict=True)
            if done.returncode != 0:
                raise self.fail(step, f"python block exited {done.returncode}", done.stdout)
        elif step.kind == "output":
            expected = step.text.splitlines()
            if not output_matches(
                normalise("\n".join(expected)), normalise(self.last_output, self.cwd)
            ):
                raise self.fail(step, "the output differs from the doc", self.last_output)
        elif step.kind == "file":
            cwd = Path((self.state / "cwd").read_text().strip())
            target = cwd / step.path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(step.text)
        elif step.kind == "background":
            self.start_background(step)

    def check(
        self, step: Step, command: str, expected: list[str], done: subprocess.CompletedProcess[str]
    ) -> None:
        shows_error = any(ln.startswith("error:") for ln in expected)
        if done.returncode != 0 and not shows_error:
            raise self.fail(step, f"`{command}` exited {done.returncode}", done.stdout)
        if shows_error and done.returncode == 0:
            raise self.fail(step, f"`{command}` should fail as the doc shows", done.stdout)
        if expected and not output_matches(
            normalise("\n".join(expected)), normalise(done.stdout, self.cwd)
        ):
            raise self.fail(
                step,
                f"the output of `{command}` differs from the doc:\n" + "\n".join(expected),
                done.stdout,
            )
        self.bind_ids("\n".join(expected), done.stdout)

    def bind_ids(self, expected: str, actual: str) -> None:
        """An id the doc shows in an output stands, in later commands, for the real one printed
        at the same place (`reproduce 20261123T114229-8060c535` after the `run` that printed it)."""
        for pattern in IDS:
            for shown, real in zip(
                pattern.findall(expected), pattern.findall(actual), strict=False
            ):
                if shown != real and not any(
                    p.pattern == re.escape(shown) for p, _ in self.substitutions
                ):
                    self.substitutions.append((re.compile(re.escape(shown)), real))

    def start_background(self, step: Step) -> None:
        for line in step.text.splitlines():
            command = line.split(" #")[0].strip()
            if not command or command.startswith("#"):
                continue
            log = open(self.state / f"background_{len(self.background)}.log", "wb")  # noqa: SIM115
            self.logs.append(log)
            self.background.append(
                subprocess.Popen(
                    ["bash", "-c", self._background(self.substitute(command))],
                    cwd=self.cwd,
                    env=self.env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        url = self.substitute(step.path)
        if not url:
            return
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=1).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            if any(p.poll() is not None for p in self.background):
                break
            time.sleep(0.2)
        logs = "\n".join(p.read_text() for p in sorted(self.state.glob("background_*.log")))
        raise self.fail(step, f"{url} did not answer", logs)

    def stop(self) -> None:
        for process in self.background:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.background:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for log in self.logs:
            log.close()
        shutil.rmtree(self.state, ignore_errors=True)

"""The peers' process: the runner script ``scripts/peers_runner.py`` in serve mode under the
peers' own Python, spoken to in JSON lines (the protocol is in the runner's docstring).

The runner ships as package data and is launched by path; nothing here imports it.
"""

from __future__ import annotations

import contextlib
import datetime
import importlib.resources
import json
import os
import select
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from .methods import BenchError

__all__ = ["PeersProcess", "default_peers_python", "runner_path", "setup_hint", "PEERS_VENV", "CMI_PEERS_INSTALL"]

_PEERS_READY_TIMEOUT = 600.0  # seconds for the peers' process to import its libraries
_PEERS_GRACE = 120.0  # seconds past --timeout before a silent peers process is killed
_MAX_PEER_RESTARTS = 3


def runner_path() -> Path:
    """The peers' runner script that ships with neuralmi (package data, run by path)."""
    return Path(os.fspath(importlib.resources.files(__package__) / "scripts" / "peers_runner.py"))


#: the peers' environment looked for by default, per kind of suite: benchmark-mi and torch-mist
#: pin numpy<2 and jax 0.4.30; npeet-plus, infomeasure and scikit-learn want a recent numpy
PEERS_VENV: dict[str, str] = {"mi": ".venv-peers", "conditional": ".venv-cmi-peers", "discrete": ".venv-cmi-peers"}
#: how the conditional and discrete suites' peers' environment is made
CMI_PEERS_INSTALL = "python3.11 -m venv .venv-cmi-peers && .venv-cmi-peers/bin/pip install npeet-plus==0.2.0 infomeasure==0.6.3 scikit-learn"


def default_peers_python(kind: str = "mi") -> Path | None:
    """The peers' Python of a kind of suite (:data:`PEERS_VENV`: ``.venv-peers/bin/python``, or
    ``.venv-cmi-peers/bin/python`` for the conditional and discrete suites) in the working
    directory, else in the neuralmi checkout."""
    venv = PEERS_VENV.get(kind, ".venv-peers")
    candidates = [Path(venv) / "bin" / "python", Path(__file__).resolve().parents[3] / venv / "bin" / "python"]
    for c in candidates:
        if c.exists():
            return c
    return None


def setup_hint(kind: str = "mi") -> str:
    """How to make the peers' environment of a kind of suite (the end of a one-line error)."""
    if kind in ("conditional", "discrete"):
        return f"create it with `{CMI_PEERS_INSTALL}`, or pass --peers-python PATH to a Python that has npeet-plus, infomeasure and scikit-learn"
    return _SETUP_HINT


_SETUP_HINT = (
    "create it with `bash benchmarks/setup_peers.sh .venv-peers` in a neuralmi source checkout, "
    "or pass --peers-python PATH to a Python that has benchmark-mi and torch-mist"
)


class _LineReader:
    """Line reader over a pipe with a deadline (no blocking past it)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = b""
        self.eof = False

    def readline(self, deadline: float | None) -> str | None:
        """The next line; "" at end of file; None when the deadline passed first."""
        while b"\n" not in self.buf:
            if self.eof:
                line, self.buf = self.buf, b""
                return line.decode("utf-8", "replace")
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.fd], [], [], wait)
            if not ready:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                self.eof = True
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("utf-8", "replace") + "\n"


class PeersProcess:
    """The peers' runner in serve mode (``python peers_runner.py --serve``), restarted when it dies.

    Args:
        python: the peers' interpreter.
        log: file that receives the process's stderr (what the libraries print).
    """

    def __init__(self, python: Path, log: Path, runner: Path | None = None, hint: str = _SETUP_HINT) -> None:
        self.python = Path(python)
        self.hint = hint
        self.log_path = log
        self.runner = runner or runner_path()
        self.proc: subprocess.Popen[bytes] | None = None
        self.reader: _LineReader | None = None
        self.log: TextIO | None = None
        self.ready: dict[str, Any] = {}
        self._jobs = 0

    def start(self) -> dict[str, Any]:
        """Start the process and return its ``ready`` message.

        Raises:
            BenchError: it cannot start, or does not speak the protocol.
        """
        self.close()
        if not self.python.exists():
            raise BenchError(f"peers' Python not found: {self.python}; {self.hint}")
        self.log = self.log_path.open("a", encoding="utf-8")
        self.log.write(f"\n=== {datetime.datetime.now().isoformat(timespec='seconds')} {self.python} {self.runner} --serve\n")
        self.log.flush()
        try:
            self.proc = subprocess.Popen(
                [str(self.python), str(self.runner), "--serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.log,
            )
        except OSError as exc:
            raise BenchError(f"cannot start the peers' Python {self.python}: {exc}; {self.hint}") from None
        assert self.proc.stdout is not None  # noqa: S101 - set by Popen above
        self.reader = _LineReader(self.proc.stdout.fileno())
        line = self.reader.readline(time.monotonic() + _PEERS_READY_TIMEOUT)
        message = self._decode(line) if line else None
        if message is None or message.get("event") != "ready":
            self.close()
            raise BenchError(
                f"the peers' Python {self.python} did not start the runner (no 'ready' message; see {self.log_path}); {self.hint}"
            )
        self.ready = message
        return message

    @staticmethod
    def _decode(line: str) -> dict[str, Any] | None:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            return None
        return message if isinstance(message, dict) else None

    def close(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                with contextlib.suppress(OSError):
                    assert self.proc.stdin is not None  # noqa: S101
                    self.proc.stdin.close()
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            for stream in (self.proc.stdin, self.proc.stdout):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
            self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def _kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.close()

    def run(
        self, samples: Path, seed: int, methods: Sequence[str], timeout: float | None
    ) -> Iterator[dict[str, Any]]:
        """Run the methods on one samples file; yields one record per method, as they finish.

        A method during which the process dies, or stays silent for ``timeout`` + 120 s, gets
        an error record; the process is restarted for the remaining methods.
        """
        pending = list(methods)
        restarts = 0
        while pending:
            if self.proc is None or self.proc.poll() is not None:
                self.start()
            self._jobs += 1
            job_id = f"job{self._jobs}"
            job = {"id": job_id, "samples": str(samples), "seed": seed, "methods": pending, "timeout": timeout}
            try:
                assert self.proc is not None and self.proc.stdin is not None  # noqa: S101
                self.proc.stdin.write((json.dumps(job) + "\n").encode())
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                self._kill()
                restarts += 1
                if restarts > _MAX_PEER_RESTARTS:
                    break
                continue
            current: str | None = None
            limit = None if timeout is None else timeout + _PEERS_GRACE
            deadline = None if limit is None else time.monotonic() + limit
            failure: str | None = None
            while True:
                assert self.reader is not None  # noqa: S101
                line = self.reader.readline(deadline)
                if line is None:
                    failure = f"killed: the peers' process gave no answer for {limit:g} s"
                    break
                if line == "":
                    code = self.proc.wait() if self.proc is not None else None
                    failure = f"the peers' process exited (status {code}; see {self.log_path.name})"
                    break
                message = self._decode(line)
                if message is None or message.get("id") != job_id:
                    continue
                event = message.get("event")
                if event == "start":
                    current = message.get("method")
                    deadline = None if limit is None else time.monotonic() + limit
                elif event == "record" and message.get("method") in pending:
                    pending.remove(message["method"])
                    current = None
                    yield message
                elif event == "done":
                    break
            if failure is None:
                if pending:  # the runner skipped methods: should not happen
                    for m in pending:
                        yield self._failed(m, "no record from the peers' process")
                    pending = []
                break
            self._kill()
            victim = current if current in pending else (pending[0] if pending else None)
            if victim is not None:
                pending.remove(victim)
                yield self._failed(victim, failure, seconds=limit if failure.startswith("killed") else None)
            restarts += 1
            if restarts > _MAX_PEER_RESTARTS:
                break
        for m in pending:
            yield self._failed(m, "not run: the peers' process failed repeatedly")

    @staticmethod
    def _failed(method: str, error: str, seconds: float | None = None) -> dict[str, Any]:
        return {
            "event": "record",
            "library": method.split(":", 1)[0],
            "method": method,
            "estimate": None,
            "seconds": seconds,
            "error": error,
        }

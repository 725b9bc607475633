"""What the benchmarks that run external tools share: a venv per tool built from its pinned
requirements (their pins clash with ours), their parties as processes with a log each, free
ports for them, the last line of a party's log, and timing a call."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

VENVS = Path(__file__).parent / ".venvs"


def venv(tool: str, drivers: Path) -> Path:
    """The tool's venv, built from `drivers/requirements-TOOL.txt` unless already built from
    the same list; returns its python."""
    requirements = drivers / f"requirements-{tool}.txt"
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]
    home = VENVS / tool
    python = home / "bin" / "python"
    stamp = home / f".installed-{digest}"
    if stamp.exists():
        return python
    shutil.rmtree(home, ignore_errors=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    for step in ([sys.executable, "-m", "venv", str(home)], [*pip, "-r", str(requirements)]):
        try:
            done = subprocess.run(
                step, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=1200
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise RuntimeError(f"could not build the {tool} venv: {error}") from error
        if done.returncode:
            problem = [line for line in done.stderr.splitlines() if "ERROR" in line]
            raise RuntimeError(
                f"could not build the {tool} venv ({' '.join(step[2:5])}): "
                + (problem[-1] if problem else done.stderr.strip()[-300:])
            )
    stamp.touch()
    return python


def start_party(command: list[str], log: Path) -> subprocess.Popen:
    """A tool's party as a process in a group of its own (so that stopping it ends any
    helper processes it started too), its output in `log`, outside our venv."""
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    with log.open("w") as output:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=environment,
            start_new_session=True,
        )


def stop_parties(processes: list[subprocess.Popen], grace: float = 0.0) -> None:
    """Kill the process group of each party still running after `grace` seconds."""
    for process in processes:
        if process.poll() is None:
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def last_line(work: Path, index: int) -> str:
    """The last line of party `index`'s log in `work` (for an error message)."""
    lines = (work / f"party{index}.log").read_text(errors="replace").strip().splitlines()
    return lines[-1][-300:] if lines else "no output"


def free_ports(count: int, host: str = "") -> int:
    """The first of `count` consecutive TCP ports free now on `host` (party i uses base + i)."""
    for _ in range(200):
        base = random.randrange(20_000, 60_000)
        sockets = []
        try:
            for port in range(base, base + count):
                sockets.append(socket.socket())
                sockets[-1].bind((host, port))
        except OSError:
            continue
        else:
            return base
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free ports found")


def timed(function: Callable):
    """(what `function()` returns, the seconds it took)."""
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started

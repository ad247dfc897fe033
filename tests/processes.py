"""Child processes for the signal tests: a FIFO's write end, and waiting until a child sleeps in a syscall.

A signal sent while the child is between two syscalls can be lost for good: Python's C handler only sets a
flag, and if that happens after the interpreter last checked its flags and before a blocking read starts,
the read is never interrupted (a Ctrl-C a user would simply press again). So a test that sends Ctrl-C "while
the command waits" first waits until the command really waits, in the kernel.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

import pytest


def open_fifo_writer(fifo: Path, proc: subprocess.Popen[str], timeout: float = 120) -> int:
    """A write end of `fifo`, once `proc` has opened it for reading (opening it earlier fails: ENXIO)."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"the command never opened {fifo} (exit status {proc.poll()})")


def read_until(stream: IO[str], text: str, what: str) -> None:
    """Read `stream` (a child's piped output) up to the line containing `text`; fail naming `what` when it
    ends first."""
    for line in iter(stream.readline, ""):
        if text in line:
            return
    pytest.fail(f"{what} never said {text!r}")


def wait_channel(pid: int) -> str:
    """The kernel function process `pid`'s main thread sleeps in ("0" while it runs), from /proc."""
    return Path(f"/proc/{pid}/wchan").read_text(encoding="ascii").strip()


def wait_until_blocked(proc: subprocess.Popen[str], *channels: str, timeout: float = 120) -> None:
    """Return once `proc`'s main thread sleeps in a kernel function whose name contains one of `channels`
    ("pipe_read", "pipe_wait" before Linux 5.5: reading an empty pipe or FIFO; "poll": waiting on a
    socket with a timeout; "nanosleep": time.sleep; "futex": waiting on a lock or event)."""
    deadline = time.monotonic() + timeout
    seen = ""
    while proc.poll() is None and time.monotonic() < deadline:
        seen = wait_channel(proc.pid)
        if any(channel in seen for channel in channels):
            return
        time.sleep(0.01)
    pytest.fail(f"process {proc.pid} never slept in {' or '.join(map(repr, channels))} (last seen in "
                f"{seen!r}, exit status {proc.poll()})")


def stop_when_blocked(proc: subprocess.Popen[str], *channels: str, signum: int = signal.SIGINT,
                      group: bool = False, timeout: float = 60) -> tuple[str, str]:
    """Send `signum` to `proc` (with `group`, to its process group, as a terminal's Ctrl-C goes) once it
    sleeps in one of `channels` (wait_until_blocked) and return what it still writes (stdout, stderr)
    until it exits; it is killed if it does not exit in `timeout`."""
    try:
        wait_until_blocked(proc, *channels)
        if group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        out, err = proc.communicate(timeout=timeout)
        return out or "", err or ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()

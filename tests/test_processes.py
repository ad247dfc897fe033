"""tests/processes.py: the signal tests wait until their child really sleeps in the kernel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.processes import open_fifo_writer, wait_channel, wait_until_blocked


def test_a_child_reading_an_empty_fifo_is_seen_sleeping_in_pipe_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-c", "import sys; open(sys.argv[1], 'rb').read()", str(fifo)],
                            text=True)
    writer = open_fifo_writer(fifo, proc)
    try:
        wait_until_blocked(proc, "pipe_read", "pipe_wait")
        assert "pipe_" in wait_channel(proc.pid) and proc.poll() is None
    finally:
        os.close(writer)  # end of file: the child's read returns
        assert proc.wait(timeout=60) == 0


def test_waiting_for_a_channel_the_child_never_sleeps_in_fails_naming_where_it_was(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], text=True)
    try:
        with pytest.raises(pytest.fail.Exception, match=r"never slept in 'pipe_read' \(last seen in '.+'"):
            wait_until_blocked(proc, "pipe_read", timeout=1)
    finally:
        proc.kill()
        proc.wait()


def test_a_child_that_exits_is_not_waited_for_until_the_timeout(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"], text=True)
    proc.wait(timeout=60)
    with pytest.raises(pytest.fail.Exception, match="exit status 0"):
        wait_until_blocked(proc, "pipe_read", timeout=600)

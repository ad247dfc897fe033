"""An ingest run's progress over its papers: a bar on a terminal, else plain lines on stderr.

Shared by the ingest run (ingest.pipeline) and the re-extraction (ingest.reextract)."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from kg.safe_output import is_terminal

# Seconds between two plain progress lines (stderr not a terminal: a log file, cron, docker logs).
PLAIN_PROGRESS_EVERY = 30.0


def _duration(seconds: float) -> str:
    """A duration as a progress line shows it: 45s, 7m02s, 1h05m."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class Progress:
    """A run's progress over its papers: a bar on a terminal, else a plain line on stderr
    at most every PLAIN_PROGRESS_EVERY seconds (papers done / total, rate, ETA), so an import piped to a
    log is not silent for minutes. The unchanged papers a resumed run skips in moments are counted apart
    and left out of the rate, which they made look far higher than the rest will go (the ETA came out
    ~40% short)."""

    def __init__(self, total: int, desc: str, progress: bool, *, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic, every: float | None = None) -> None:
        self.total, self.desc = total, desc
        self.done = self.unchanged = 0
        self._stream = stream if stream is not None else sys.stderr
        self._clock = clock
        self._every = PLAIN_PROGRESS_EVERY if every is None else every
        self._start = self._last_line = self._batch_start = clock()
        self._skipping = 0.0  # seconds spent on batches of unchanged papers only
        self._bar: Any = None
        self._plain = bool(progress) and total > 0 and self._stream is not None and not is_terminal(
            self._stream)
        if bool(progress) and is_terminal(self._stream):
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit="paper", file=self._stream,
                             bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                        "[{elapsed}{postfix}]")

    def update(self, done: int, unchanged: int = 0) -> None:
        """`done` more papers handled, `unchanged` of them skipped as unchanged."""
        now = self._clock()
        if unchanged and unchanged == done:
            self._skipping += now - self._batch_start
        self._batch_start = now
        self.done += done
        self.unchanged += unchanged
        if self._bar is not None:
            self._bar.set_postfix_str(self._rate_text(now), refresh=False)
            self._bar.update(done)
        elif self._plain and now - self._last_line >= self._every:
            self._last_line = now
            with contextlib.suppress(OSError, ValueError):  # a log that went away stops no import
                print(self.line(now), file=self._stream, flush=True)

    def line(self, now: float | None = None) -> str:
        """The plain progress line: "ingest records: 3072/7674 papers (2816 unchanged), 4.2 papers/s,
        ETA 18m15s"."""
        now = self._clock() if now is None else now
        skipped = f" ({self.unchanged} unchanged)" if self.unchanged else ""
        return f"{self.desc}: {self.done}/{self.total} papers{skipped}, {self._rate_text(now)}"

    def _rate_text(self, now: float) -> str:
        """"R papers/s, ETA D" from the papers written (not the unchanged ones), after the bar's
        "N unchanged, "; "ETA unknown" before any is written."""
        written = self.done - self.unchanged
        spent = now - self._start - self._skipping
        parts = [f"{self.unchanged} unchanged"] if self._bar is not None and self.unchanged else []
        if written > 0 and spent > 0:
            rate = written / spent
            parts.append(f"{rate:.1f} papers/s, ETA {_duration((self.total - self.done) / rate)}")
        else:
            parts.append("ETA unknown")
        return ", ".join(parts)

    def close(self) -> None:
        """Close the bar (a plain line needs no closing)."""
        if self._bar is not None:
            self._bar.close()

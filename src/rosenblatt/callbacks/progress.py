"""``ProgressBar``: one progress bar per epoch with loss, metrics, samples/s and ETA.

Uses ``tqdm`` when it is installed (an optional dependency); otherwise prints plain lines: a
``\\r``-refreshed line while the epoch runs (only on a terminal) and one summary line per epoch.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any, TextIO

from .base import Callback

__all__ = ["ProgressBar", "format_logs"]


def _tqdm() -> Any:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm


def format_logs(logs: Mapping[str, Any], digits: int = 4) -> str:
    """``"loss: 0.1234 - accuracy: 0.9500"``."""
    parts = []
    for key in logs:
        value = logs[key]
        try:
            parts.append(f"{key}: {float(value):.{digits}f}")
        except (TypeError, ValueError):
            parts.append(f"{key}: {value}")
    return " - ".join(parts)


class ProgressBar(Callback):
    """Shows every epoch's progress: samples done, samples/s, ETA, and the running loss and
    metrics (refreshed at most every ``refresh_interval`` seconds, so reading them costs
    nothing per batch); at the end of the epoch the final values, validation included.

    ``fit(verbose=1)`` adds one (tqdm when available), ``verbose=2`` one summary line per epoch
    (``ProgressBar(use_tqdm=False, live=False)``), ``verbose=0`` none.

    Args:
        refresh_interval: seconds between refreshes of the running values.
        use_tqdm: True/False to force, None to use tqdm when it is installed.
        live: refresh a line while the epoch runs (plain mode; always on with tqdm).
        file: where to write (default ``sys.stdout``; tqdm defaults to ``sys.stderr``).
    """

    def __init__(self, refresh_interval: float = 0.5, use_tqdm: bool | None = None,
                 live: bool = True, file: TextIO | None = None) -> None:
        self.refresh_interval = float(refresh_interval)
        self.use_tqdm = use_tqdm
        self.live = bool(live)
        self.file = file
        self._bar: Any = None
        self._mode: str | None = None
        self._tqdm: Any = None

    def _out(self) -> TextIO:
        return self.file if self.file is not None else sys.stdout

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        tqdm = _tqdm() if self.use_tqdm is not False else None
        if self.use_tqdm and tqdm is None:
            raise ImportError("ProgressBar(use_tqdm=True) needs tqdm: pip install tqdm")
        self._tqdm = tqdm

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch = epoch
        self._seen = 0
        self._steps = 0
        self._start = self._last = time.perf_counter()
        total = self.params.get("samples")
        epochs = self.params.get("epochs")
        self._desc = f"Epoch {epoch + 1}/{epochs}" if epochs else f"Epoch {epoch + 1}"
        self._bar = None
        self._mode = None  # "tqdm", "plain" (a refreshed line on a terminal) or None
        if self._tqdm is not None:
            self._bar = self._tqdm(total=total, desc=self._desc, unit="sample",
                                   unit_scale=False, leave=True, file=self.file,
                                   dynamic_ncols=True)
            self._mode = "tqdm"
        elif self.live and getattr(self._out(), "isatty", lambda: False)():
            self._mode = "plain"

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        n = getattr(logs, "num_samples", None) or self.params.get("batch_size") or 1
        self._seen += n
        self._steps += 1
        if self._mode is None:
            return
        if self._mode == "tqdm":
            self._bar.update(n)
        now = time.perf_counter()
        if now - self._last < self.refresh_interval or logs is None:
            return
        self._last = now
        if self._mode == "plain":
            print("\r" + self._line(logs, now), end="", file=self._out(), flush=True)
        else:
            self._bar.set_postfix_str(format_logs(logs), refresh=True)

    def _line(self, logs: Mapping[str, Any], now: float) -> str:
        elapsed = max(now - self._start, 1e-9)
        rate = self._seen / elapsed
        total = self.params.get("samples")
        parts = [self._desc, f"{self._seen}/{total}" if total else f"{self._seen}",
                 f"{elapsed:.1f}s", f"{rate:,.0f} samples/s"]
        if total and rate > 0 and self._seen < total:
            parts.append(f"ETA {(total - self._seen) / rate:.1f}s")
        text = format_logs(logs)
        return " - ".join(parts + ([text] if text else []))

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        if self._mode == "tqdm":
            self._bar.set_postfix_str(format_logs(logs), refresh=False)
            self._bar.close()
        else:
            prefix = "\r" if self._mode == "plain" else ""
            print(prefix + self._line(logs, time.perf_counter()), file=self._out(), flush=True)
        self._bar = None
        self._mode = None

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self._mode == "tqdm":
            self._bar.close()
        self._bar = None
        self._mode = None

"""(stub: filled in by the work on issue 3)"""

from __future__ import annotations

__all__: list[str] = []

"""(stub: filled in by the work on issues 5 and 7)"""

from __future__ import annotations

__all__: list[str] = []

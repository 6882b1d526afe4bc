"""(stub: initialisers, filled in by the work on issue 3)"""

from __future__ import annotations

"""(stub: summary(model, input_shape), filled in by the work on issue 3)"""

from __future__ import annotations

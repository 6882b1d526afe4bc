"""``rosenblatt.nn.functional`` (import as ``F``): activations, losses and layer ops as
functions, PyTorch's names. Each family lives in its own file."""

from .activation import *  # noqa: F403
from .conv import *  # noqa: F403
from .layers import *  # noqa: F403
from .loss import *  # noqa: F403
from .pooling import *  # noqa: F403
from .recurrent import *  # noqa: F403

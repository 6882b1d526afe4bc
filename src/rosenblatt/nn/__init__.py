"""``rosenblatt.nn``: modules, layers, activations, losses, initialisers, regularisers and the
Sequential and Functional models."""

from . import functional, init, utils  # noqa: F401
from .containers import ModuleDict, ModuleList, Sequential  # noqa: F401
from .layers.activation import *  # noqa: F403
from .layers.conv import *  # noqa: F403
from .layers.dropout import *  # noqa: F403
from .layers.linear import *  # noqa: F403
from .layers.norm import *  # noqa: F403
from .layers.pooling import *  # noqa: F403
from .layers.recurrent import *  # noqa: F403
from .layers.spatial import *  # noqa: F403
from .losses import *  # noqa: F403
from .model import *  # noqa: F403
from .module import Module  # noqa: F401
from .parameter import Parameter  # noqa: F401
from .perceptron import *  # noqa: F403
from .regularizers import *  # noqa: F403

"""``rosenblatt.optim``: optimisers (one per module) and learning-rate schedules, with PyTorch's
algorithms, defaults, param groups and ``state_dict`` layout.

>>> from rosenblatt import nn, optim
>>> model = nn.Linear(3, 1)
>>> opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
>>> sched = optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)
"""

from . import lr_scheduler
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .nadam import NAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "AdamW", "NAdam", "Optimizer", "RMSprop",
           "lr_scheduler"]

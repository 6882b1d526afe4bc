"""The model zoo: classic architectures with torchvision's names, parameter names and shapes.

>>> from rosenblatt import models
>>> net = models.get("resnet18", num_classes=10)
>>> models.list_models()[:3]
['alexnet', 'densenet121', 'densenet169']
"""

from rosenblatt.models.registry import get, list_models

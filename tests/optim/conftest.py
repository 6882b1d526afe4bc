import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    """PyTorch's thread pool on a busy 2-core machine makes these tiny steps 10× slower."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

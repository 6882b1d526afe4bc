"""The public API is reachable where the README says it is."""

import io as stdlib_io

import rosenblatt as rb


def test_subpackages_are_attributes_of_the_package():
    for name in ("nn", "optim", "data", "io", "metrics", "callbacks", "training", "checkpoint"):
        assert hasattr(rb, name), f"rosenblatt.{name} is not imported by rosenblatt/__init__.py"
    for name in ("load_weights", "save_weights", "save_checkpoint", "load_checkpoint",
                 "gradcheck", "manual_seed", "tensor", "no_grad", "Function"):
        assert callable(getattr(rb, name))
    for name in ("Linear", "Dense", "Conv2d", "LSTM", "Sequential", "Model", "Input", "summary"):
        assert hasattr(rb.nn, name), name


def test_star_import_does_not_shadow_the_standard_library_io():
    namespace: dict = {"io": stdlib_io}
    exec("from rosenblatt import *", namespace)  # noqa: S102
    assert namespace["io"] is stdlib_io

"""The ``rosenblatt`` command: ``train``, ``evaluate``, ``predict``, ``models``.

    rosenblatt train                                   # a small CNN on the bundled digits
    rosenblatt train --model lenet5 --dataset fashion-mnist --epochs 10 --augment crop
    rosenblatt train --config experiment.toml --lr 0.01
    rosenblatt evaluate runs/20261122-101500-small_cnn-digits
    rosenblatt predict my_digit.png --run runs/20261122-101500-small_cnn-digits

Also `python -m rosenblatt ...`. Bad options and missing data sets end with a one-line message
and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rosenblatt.cli.config import (
    AUGMENTATIONS,
    DATASETS,
    OPTIMIZERS,
    SCHEDULES,
    ConfigError,
    TrainConfig,
    make_config,
    read_config_file,
)

__all__ = ["main", "main_exit", "TrainConfig", "ConfigError"]


def _parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
    p = argparse.ArgumentParser(prog="rosenblatt", description="Train, evaluate and use "
                                "rosenblatt models from the command line.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    t = sub.add_parser("train", help="train a model and write a run folder",
                       description="Train a zoo model on a data set. Options override the "
                       "--config file, which overrides the defaults shown.")
    t.add_argument("--config", metavar="FILE", help="settings from a .toml, .yaml or .json "
                   "file (a run folder's config.json repeats that run)")
    t.add_argument("--model", help=f"a name from `rosenblatt models` (default {defaults.model})")
    t.add_argument("--dataset", choices=DATASETS,
                   help=f"the data (default {defaults.dataset}: bundled, no download)")
    t.add_argument("--data-root", dest="data_root", metavar="DIR",
                   help="where the data set's files are (folder: one subfolder per class)")
    t.add_argument("--image-size", dest="image_size", type=int, help="dataset folder: the side "
                   f"every image is resized to (default {defaults.image_size})")
    t.add_argument("--download", action="store_const", const=True,
                   help="download a missing MNIST/Fashion-MNIST/CIFAR (checksummed; needs a "
                   "network; never done otherwise)")
    t.add_argument("--epochs", type=int, help=f"default {defaults.epochs}")
    t.add_argument("--batch-size", dest="batch_size", type=int,
                   help=f"default {defaults.batch_size}")
    t.add_argument("--optimizer", choices=OPTIMIZERS, help=f"default {defaults.optimizer}")
    t.add_argument("--lr", type=float, help="learning rate (default: 0.01 for sgd, 0.001 for "
                   "the others)")
    t.add_argument("--momentum", type=float, help=f"SGD momentum (default {defaults.momentum})")
    t.add_argument("--weight-decay", dest="weight_decay", type=float,
                   help=f"default {defaults.weight_decay}")
    t.add_argument("--schedule", choices=SCHEDULES, help="learning-rate schedule per epoch "
                   "(default none)")
    t.add_argument("--augment", metavar="LIST", help="comma-separated, from: "
                   + ", ".join(AUGMENTATIONS) + " (default none)")
    t.add_argument("--mixed-precision", dest="mixed_precision", action="store_const",
                   const=True, help="float16 compute, float32 master weights")
    t.add_argument("--seed", type=int, help=f"default {defaults.seed}")
    t.add_argument("--val-fraction", dest="val_fraction", type=float,
                   help=f"validation share of the training data (default "
                   f"{defaults.val_fraction})")
    t.add_argument("--test-fraction", dest="test_fraction", type=float,
                   help=f"test share for data sets without a test split (default "
                   f"{defaults.test_fraction})")
    t.add_argument("--limit", type=int, help="use only this many training images")
    t.add_argument("--patience", type=int, help="stop after this many epochs without a lower "
                   "validation loss")
    t.add_argument("--out", help=f"folder for run folders (default {defaults.out})")
    t.add_argument("--name", help="the run folder's name (default: time-model-dataset)")
    t.add_argument("--resume", metavar="RUN", help="continue a run folder from its last "
                   "checkpoint (its own settings; --epochs may raise the total)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")

    e = sub.add_parser("evaluate", help="test accuracy of a trained run")
    e.add_argument("run", nargs="?", help="a run folder (default: the latest under runs/)")
    e.add_argument("--weights", default="best", help="best, last or a checkpoint file")
    e.add_argument("--data-root", dest="data_root", metavar="DIR")

    r = sub.add_parser("predict", help="classify image files with a trained run")
    r.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG …) or "
                   ".npy arrays")
    r.add_argument("--run", help="a run folder (default: the latest under runs/)")
    r.add_argument("--weights", default="best", help="best, last or a checkpoint file")
    r.add_argument("--top", type=int, default=3, help="how many classes to show (default 3)")
    inv = r.add_mutually_exclusive_group()
    inv.add_argument("--invert", dest="invert", action="store_const", const=True,
                     help="invert grey levels (dark ink on light paper)")
    inv.add_argument("--no-invert", dest="invert", action="store_const", const=False)

    sub.add_parser("models", help="list the model names")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad option or missing data)."""
    args = _parser().parse_args(argv)
    from rosenblatt.data import DatasetNotFoundError

    try:
        return _dispatch(args)
    except ConfigError as e:
        print(f"rosenblatt {args.command}: error: {e}", file=sys.stderr)
        return 2
    except DatasetNotFoundError as e:
        print(f"rosenblatt {args.command}: error: {e} On the command line: --data-root DIR, "
              f"or --download.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rosenblatt {args.command}: interrupted", file=sys.stderr)
        return 130


def main_exit() -> None:
    """The console script: ``sys.exit(main())``."""
    sys.exit(main())


def _dispatch(args: argparse.Namespace) -> int:
    from rosenblatt.cli.run import RunFolder, latest_run

    if args.command == "models":
        from rosenblatt.models import list_models

        print("\n".join(list_models()))
        return 0
    if args.command == "train":
        from rosenblatt.cli.train import run_train

        options = {k: v for k, v in vars(args).items()
                   if k not in ("command", "config", "resume", "quiet")}
        if args.resume:
            run = RunFolder(args.resume)
            cfg = run.config()
            if args.epochs is not None:
                cfg.epochs = args.epochs
            run_train(cfg.validate(), verbose=0 if args.quiet else 1, resume=run)
            return 0
        file_settings = read_config_file(args.config) if args.config else {}
        cfg = make_config(file_settings, options)
        run_train(cfg, verbose=0 if args.quiet else 1)
        return 0
    if args.command == "evaluate":
        from rosenblatt.cli.evaluate import run_evaluate

        run = RunFolder(args.run) if args.run else latest_run()
        run_evaluate(run, weights=args.weights, data_root=args.data_root)
        return 0
    if args.command == "predict":
        from rosenblatt.cli.evaluate import run_predict

        run = RunFolder(args.run) if args.run else latest_run()
        run_predict(args.images, run, top=args.top, weights=args.weights, invert=args.invert)
        return 0
    raise AssertionError(args.command)  # argparse allows only the commands above

"""``python -m rosenblatt``: the ``rosenblatt`` command (train, evaluate, predict, models)."""

from rosenblatt.cli import main_exit

main_exit()

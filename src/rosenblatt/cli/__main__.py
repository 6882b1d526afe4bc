"""``python -m rosenblatt.cli``: the ``rosenblatt`` command without the console script."""

from rosenblatt.cli import main_exit

main_exit()

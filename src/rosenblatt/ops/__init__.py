"""Op families: each file holds the ``Function`` subclasses of one family, forward and backward
side by side. ``rosenblatt.functional`` wraps them as functions."""

"""Benchmarks of rosenblatt against PyTorch; each script writes its own section of BENCHMARKS.md."""

"""Layers by family: linear, activation, dropout, norm (and conv, pooling, recurrent later)."""

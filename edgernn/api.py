"""The Python API: one function per CLI command, same names and options.

    import edgernn
    edgernn.synth_kws("data/kws")
    edgernn.train(task="kws", arch="gru", units=64, data="data/kws", out="runs/gru64")

Heavy imports (TensorFlow) happen inside the stage modules, only when a step needs them.
Each section below is marked ``# --- <name> ---``.
"""
from __future__ import annotations

# --- data ---

# --- train ---

# --- prune ---

# --- quantize ---

# --- export ---

# --- check ---

# --- eval ---

# --- bench ---

# --- report ---

# --- firmware ---

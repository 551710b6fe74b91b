"""Streaming keyword detection: posterior smoothing and suppression over a stream of model outputs."""

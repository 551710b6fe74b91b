"""TFLite flatbuffers: the schema, named tensor types and operand positions, a checking reader
(``Graph``), per-op contracts (``validate``), a builder for hand-made graphs, and ``describe``.

The lowest layer of edgernn's model handling: it imports nothing else from edgernn but errors
and the TensorFlow loader, so optimize, export, runtimes and targets can all use it.
"""

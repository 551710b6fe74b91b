"""edgernn: small GRU/LSTM models from data to microcontroller.

The Python API mirrors the command line, one function per command, in ``edgernn.api``:

    from edgernn import api
    api.train(task="kws", arch="gru", units=64, data="data/kws", out="runs/gru64")

(Not re-exported here: ``edgernn.train``, ``edgernn.export`` and ``edgernn.bench`` are the
pipeline-stage packages.)
"""
from edgernn.errors import UserError  # noqa: F401

__version__ = "0.1.0"

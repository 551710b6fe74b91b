"""edgernn: small GRU/LSTM models from data to microcontroller."""
from edgernn.api import *  # noqa: F401,F403  (the public API mirrors the CLI)
from edgernn.errors import UserError  # noqa: F401

__version__ = "0.1.0"

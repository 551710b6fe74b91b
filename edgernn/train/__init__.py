"""Training stage: fit models, compute metrics, write run folders."""
from edgernn.train.run import load_config, load_run, prepare_inputs  # noqa: F401

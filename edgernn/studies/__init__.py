"""Studies that run the pipeline many times: ``pipeline`` (the one train -> quantize -> eval -> check ->
bench chain), ``compare`` (GRU vs LSTM vs RNN, matched budgets, several seeds) and ``sweep`` (Ray:
search under device constraints). See docs/design/architecture.md."""

"""Studies that run the pipeline many times: sweep (Ray: search under device constraints)."""

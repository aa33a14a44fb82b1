"""Read models built from the event log, and the runner that builds and rebuilds them."""

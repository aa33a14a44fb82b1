"""Running as a service: the worker's composition (worker.py), structured logs (logs.py) and
Prometheus metrics (metrics.py)."""

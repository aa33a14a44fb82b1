"""exporters (see docs/)."""

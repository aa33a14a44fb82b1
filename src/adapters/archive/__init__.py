"""archive (see docs/)."""

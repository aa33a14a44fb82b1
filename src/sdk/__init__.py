"""sdk (see docs/)."""

"""http (see docs/)."""

"""importers (see docs/)."""

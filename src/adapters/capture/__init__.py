"""Capture adapters: hashing, git state, environment, configs, pinning, processes, heartbeats."""

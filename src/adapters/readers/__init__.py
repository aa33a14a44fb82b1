"""Readers turn files other tools (and provledger) write into ExecutionRecords."""

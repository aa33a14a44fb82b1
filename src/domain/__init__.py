"""The pure core: records, aggregates, events and rules. No I/O, no infrastructure imports."""

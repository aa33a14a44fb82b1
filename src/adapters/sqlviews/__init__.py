"""The SQL read-model store: tables and units of work (views, rows, sessions), queries and the
query language's SQL (queries, where), snapshots (snapshots, copy_text), split rebuilds."""

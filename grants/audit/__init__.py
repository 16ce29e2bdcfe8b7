"""The tamper-evident audit trail: a hash-chained, append-only log of every change."""

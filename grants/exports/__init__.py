"""Exports (DESIGN §9): CSV, XLSX, 360Giving and the list of operations, streamed in flat memory and
made in the background when Redis is configured."""

"""Funder reports (DESIGN §9): per programme and per call, filterable by fund source and period."""

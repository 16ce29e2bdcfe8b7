"""The public SI registry and the annual SI ecosystem overview (DESIGN §9; seed 003): funded
initiatives, no personal data, open data."""

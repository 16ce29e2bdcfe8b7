"""A person's data: the export (GDPR Art. 15, 20) and the erasure (Art. 17) of an account, and the
administrators' list of people (grants.privacy.services says what erasure removes and what it keeps)."""

"""Grants after award: the agreement, the payment schedule and payments, progress and final
reports with indicators, the irregularities register, retention and the SI stage gates that
release the next tranche (DESIGN §2, §4, §7)."""

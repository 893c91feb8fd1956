"""Stock: the vial ledger (movements under a per-lot lock) and the safety of lots judged by their stays."""

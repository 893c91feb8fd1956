"""What auditors take away: streamed CSV exports, verifiable bundles, the daily log and the monthly PDF."""

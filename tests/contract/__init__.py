"""Contract suites: one per port, run unchanged against every adapter."""

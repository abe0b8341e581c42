"""Customer-base models from files: BG/NBD and Gamma-Gamma fits and per-customer predictions."""

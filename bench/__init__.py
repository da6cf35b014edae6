"""Benchmarks and calibration scripts of viva; see bench/README.md."""

"""Damage generators and scorers for tests, benchmarks and notebooks; never imported by the product path."""

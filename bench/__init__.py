"""Benchmarks of the routing control plane against the contract's SLAs (`make bench`)."""

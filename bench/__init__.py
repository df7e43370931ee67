"""Benchmarks. Not tests: their numbers depend on the machine and its load.

``python -m bench.performance`` (``make bench``) runs the performance benchmark;
``bench/efo_latency.py`` (``make bench-efo``) the POLLING vs EFO latency comparison.
"""

"""Benchmarks. Each ``bench/bench_*.py`` runs on its own (``python -m bench.bench_engine``);
``python -m bench`` runs them all. Results are recorded in ``bench/RESULTS.md``."""

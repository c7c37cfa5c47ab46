"""Benchmark scripts (not tests): ``python -m bench.dashboards``, ``python -m bench.stock_lists``."""

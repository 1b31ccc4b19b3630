"""Benchmarks of the validation engine (issue #4): `make bench` (bench.run) and `make bench-peers`
(bench.peers). Speed and memory targets live here, printed as tables, not in timed unit tests."""

"""Benchmarks of the bot against the local fake Bot API server: `python -m bench [--quick]`.

Not part of the test suite: it measures and compares (ratios within one run) but asserts
nothing about time. Everything runs on 127.0.0.1; generated databases are cached in
`bench/.cache/` (gitignored).
"""

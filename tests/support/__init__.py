"""Helpers the tests share (and bench/ reuses): one package, imported as `support.NAME`."""

"""Durable jobs: the worker, the spool sweep and the periodic tasks around them."""

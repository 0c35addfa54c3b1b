"""Transcript model, turn building and exports."""

"""Asterisk on the box: its configuration, the hand-off of recordings, ARI and the self-test."""

"""Conversation analytics: exact per-call metrics (talk time, overlap, interruptions, dead air)
and the vCon export that carries them.

This room sits with `pipeline` and `nlp` in the layer order: it reads recordings (`audio`),
reuses the channels' bleed suppression (`diarize`) and stores through `store`.
"""

"""Training a run: the request (checked before any file exists), the session (the learn loop),
resume, checkpoints, callbacks, stopping.

Nothing heavy is imported here: torch, Stable-Baselines3 and friends load when used.
"""

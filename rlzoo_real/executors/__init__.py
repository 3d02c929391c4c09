"""Where jobs run: worker processes on this machine (one pool for sweep and tune) and the sweep
itself.

Nothing heavy is imported here: torch, Stable-Baselines3 and friends load when used.
"""

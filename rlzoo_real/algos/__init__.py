"""Algorithms: the registry (name -> lazily imported class, capabilities), DroQ, gSDE checks, the
SBX (JAX) backend, the open-loop baseline and its joints.

Nothing heavy is imported here: torch, Stable-Baselines3 and friends load when used.
"""

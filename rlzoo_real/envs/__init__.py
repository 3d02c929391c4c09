"""Environments: making and probing them, wrappers, action filters, real time, the continuity cost.

Nothing heavy is imported here: torch, Stable-Baselines3 and friends load when used.
"""

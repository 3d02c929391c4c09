"""Hyperparameters: the safe literal parser (values), the typed run spec, tables (YAML files in the
RL Zoo's format, Python tables), presets.

Nothing heavy is imported here: torch, Stable-Baselines3 and friends load when used.
"""

"""Run and study folders on disk: every file name and pattern, atomic writing, the plain and Zoo
YAML readers, the manifest, locks, process liveness, the runs listing, and what a run folder may
ask to import (trust).

Nothing heavy is imported here: torch, Stable-Baselines3 and friends load when used.
"""

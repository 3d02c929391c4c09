"""realzoo: reproducible, crash-safe reinforcement-learning experiments on Stable-Baselines3."""

__version__ = "0.1.0"
__all__ = ["__version__"]

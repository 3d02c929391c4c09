"""Using a finished run: loading it safely, enjoy, export (ONNX, TorchScript), video.

Nothing heavy is imported here: torch, Stable-Baselines3 and friends load when used.
"""

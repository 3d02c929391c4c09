"""The mp4 writer in a process that has JAX loaded (an sbx run being recorded)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rlzoo_real.replay.video import Mp4Writer


def test_recording_with_jax_loaded_warns_nothing(tmp_path):
    # JAX hooks fork and warns that fork and threads may deadlock; ffmpeg is started with a
    # pre-exec step, which runs that hook. Under pytest's "error" filter, the warning
    # would surface as an unraisable exception failing this test.
    pytest.importorskip("imageio_ffmpeg")
    jax = pytest.importorskip("jax")
    import numpy as np

    assert jax.numpy.zeros(2).sum() == 0  # JAX's threads are up
    path = tmp_path / "clip.mp4"
    with Mp4Writer(path, fps=10) as writer:
        for shade in (0, 128, 255):
            writer.add(np.full((33, 47, 3), shade, dtype=np.uint8))
    assert writer.frames == 3
    probe = subprocess.run(
        [sys.executable, "-c", "import imageio_ffmpeg,sys;"
         "print(imageio_ffmpeg.count_frames_and_secs(sys.argv[1])[0])", str(path)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert probe.stdout.strip() == "3"

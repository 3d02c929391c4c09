"""Writing replays to mp4, headless.

Frames come from the envs' offscreen renderer (``render_mode="rgb_array"``); the
encoder is the ffmpeg binary that the ``imageio-ffmpeg`` package ships in its wheel
(``pip install "rlzoo-real[video]"``), so nothing is downloaded at run time and no
display is needed. MuJoCo envs render through EGL when no display is set.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any

from rlzoo_real.errors import UserError

__all__ = ["Mp4Writer", "has_display", "prepare_headless_rendering"]


def has_display() -> bool:
    """True when a window can be opened (a desktop OS, or an X11/Wayland display)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def prepare_headless_rendering() -> None:
    """Without a display, render offscreen: pygame's dummy video driver, MuJoCo through EGL.

    Must run before the renderers are first used in the process; explicit settings
    (``MUJOCO_GL=osmesa``, ``SDL_VIDEODRIVER``) are left alone.
    """
    if has_display():
        return
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # pygame (classic control, Box2D)
    if "MUJOCO_GL" not in os.environ:
        os.environ["MUJOCO_GL"] = "egl"
        os.environ.setdefault("PYOPENGL_PLATFORM", "egl")


class Mp4Writer:
    """Encode RGB frames (``H x W x 3`` uint8) into an H.264 mp4, one at a time.

    Frames of odd width or height are padded by one black row or column (H.264 with
    the ``yuv420p`` pixel format that every player reads needs even sizes). All frames
    must have the size of the first.

    Args:
        path: the ``.mp4`` to write (its folder is created).
        fps: frames per second.
    """

    def __init__(self, path: Path, *, fps: float) -> None:
        self._ffmpeg = self.check_available()
        self.path = path
        self.fps = float(fps)
        self.frames = 0
        self._writer: Any = None
        self._size: tuple[int, int] | None = None

    @staticmethod
    def check_available() -> Any:
        """Return the ``imageio_ffmpeg`` module, or raise a UserError naming the extra."""
        try:
            import imageio_ffmpeg
        except ImportError:
            raise UserError(
                "Recording video needs the video extra: pip install 'rlzoo-real[video]' "
                "(imageio-ffmpeg, which ships its own ffmpeg binary)."
            ) from None
        return imageio_ffmpeg

    def add(self, frame: Any) -> None:
        """Append one frame."""
        import numpy as np

        image = np.asarray(frame)
        if image.ndim != 3 or image.shape[2] not in (3, 4):
            raise ValueError(f"expected an H x W x 3 RGB frame, got shape {image.shape}")
        image = np.ascontiguousarray(image[:, :, :3], dtype=np.uint8)
        height, width = image.shape[:2]
        if self._writer is None:
            self._size = (width + width % 2, height + height % 2)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = self._ffmpeg.write_frames(
                str(self.path),
                self._size,
                fps=self.fps,
                codec="libx264",
                pix_fmt_in="rgb24",
                pix_fmt_out="yuv420p",
                macro_block_size=1,
                quality=7,
                ffmpeg_log_level="error",
            )
            # Starting the generator starts ffmpeg with a setpgrp pre-exec step (so a
            # terminal's Ctrl-C does not cut the file short). If JAX is loaded (an sbx
            # run), its fork hook warns that fork and threads may deadlock; the child only
            # calls setpgrp and execs ffmpeg, so the warning does not apply here.
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called")
                self._writer.send(None)
        assert self._size is not None
        if (width + width % 2, height + height % 2) != self._size:
            raise ValueError(f"frame size {width}x{height} differs from the first frame's")
        if width % 2 or height % 2:
            image = np.pad(image, ((0, height % 2), (0, width % 2), (0, 0)))
        self._writer.send(image)
        self.frames += 1

    def close(self) -> None:
        """Finish the file (flushes ffmpeg); safe to call twice."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> Mp4Writer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

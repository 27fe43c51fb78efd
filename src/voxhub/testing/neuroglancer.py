"""neuroglancer in headless Chromium, for tests that look at what a viewer shows.

:class:`NeuroglancerBrowser` opens pip ``neuroglancer``'s own viewer (its tornado server
on loopback, serving the client bundled in the wheel) in Debian's Chromium through
selenium (SwiftShader WebGL2, no GPU), once; each :meth:`~NeuroglancerBrowser.screenshot`
then sets the viewer's state (layers, position, zoom, layout) and returns the rendered
canvas as an RGB array. neuroglancer answers a screenshot request only once every
visible chunk of every layer is loaded and drawn, so the picture is complete without any
sleep; a timeout turns a stuck viewer (a source that never loads) into an error naming
the browser's console messages instead of a hung test.

The data comes from any HTTP server the browser can reach (another origin: the server
must send CORS headers, as ``voxhub serve`` does), e.g. ``precomputed://`` or
``zarr://`` URLs of a :func:`voxhub.testing.server.start_server`. Tests skip with
:func:`unavailable`'s reason where Chromium, its driver or the Python packages are
missing (the ``bench`` extra has ``neuroglancer`` and ``selenium``; Debian's
``chromium chromium-driver`` the browser).
"""

from __future__ import annotations

import importlib.util
import io
import os
import shutil
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxhub.errors import StorageError

CHROMIUM = "/usr/bin/chromium"
#: software WebGL2 (no GPU in CI), and none of Chromium's background traffic
CHROMIUM_ARGS = (
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
#: seconds a screenshot may take before the viewer counts as stuck (loaded, 2 busy cores)
SCREENSHOT_TIMEOUT = 90.0


def unavailable() -> str | None:
    """Why no headless neuroglancer can run here, or ``None`` if it can."""
    for module in ("neuroglancer", "selenium", "PIL"):
        if importlib.util.find_spec(module) is None:
            return f"the Python package {module!r} is not installed (bench extra)"
    browser = os.environ.get("VOXHUB_CHROMIUM", CHROMIUM)
    if not Path(browser).exists():
        return f"no Chromium at {browser} (apt-get install chromium chromium-driver)"
    if shutil.which("chromedriver") is None:
        return "no chromedriver on PATH (apt-get install chromium-driver)"
    return None


@dataclass(frozen=True)
class View:
    """Where the viewer looks: ``position`` in voxels ``(x, y, z)`` of ``voxel_size``
    (nm, ``(x, y, z)``), ``scale`` voxels per screen pixel in the cross sections,
    neuroglancer's ``layout`` (``xy``, ``3d``, ``4panel``, ...)."""

    position: Sequence[float]
    voxel_size: Sequence[float] = (1.0, 1.0, 1.0)
    scale: float = 1.0
    layout: str = "xy"
    #: for the 3d panel: the orthographic zoom (nm per pixel) and the camera orientation
    projection_scale: float | None = None
    projection_orientation: Sequence[float] | None = None


class NeuroglancerBrowser:
    """One pip-``neuroglancer`` viewer in one headless Chromium; close it with
    :meth:`close` (or use it as a context manager). Not thread-safe: one screenshot at a
    time."""

    def __init__(self, *, timeout: float = SCREENSHOT_TIMEOUT) -> None:
        reason = unavailable()
        if reason is not None:
            raise StorageError(f"headless neuroglancer unavailable: {reason}")
        os.environ.setdefault("SE_OFFLINE", "true")  # selenium must not fetch a driver
        # imported by name: the package ships no type information
        neuroglancer: Any = importlib.import_module("neuroglancer")
        webdriver: Any = importlib.import_module("neuroglancer.webdriver")
        self._ng = neuroglancer
        self.timeout = timeout
        #: the browser's console messages and errors, newest last (for failures)
        self.console: list[str] = []
        neuroglancer.set_server_bind_address("127.0.0.1")
        self.viewer: Any = neuroglancer.Viewer()
        self._driver: Any = webdriver.Webdriver(
            self.viewer,
            headless=True,
            browser_binary_path=os.environ.get("VOXHUB_CHROMIUM", CHROMIUM),
            docker=True,  # --no-sandbox: Chromium refuses to sandbox as root
            print_logs=False,
            extra_command_line_args=list(CHROMIUM_ARGS),
        )
        self._driver.add_log_listener(lambda entry: self.console.append(str(entry.text)))
        self._shots = 0  # screenshots asked for, to mark each state

    def __enter__(self) -> NeuroglancerBrowser:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        """Quit the browser (the viewer's server thread ends with the process)."""
        self._driver.driver.quit()

    @property
    def ng(self) -> Any:
        """The ``neuroglancer`` module (layer classes: ``ng.ImageLayer``, ...)."""
        return self._ng

    def screenshot(
        self,
        layers: Mapping[str, Any],
        view: View,
        *,
        size: tuple[int, int] = (256, 256),
        edit: Callable[[Any], None] | None = None,
    ) -> np.ndarray:
        """Show ``layers`` (name → a neuroglancer layer, e.g.
        ``ng.ImageLayer(source="precomputed://http://...")``) as ``view`` says, wait until
        everything visible is drawn, and return the canvas, ``(height, width, 3)`` uint8.
        ``edit`` may change the viewer state further before the picture is taken."""
        ng = self._ng
        with self.viewer.txn() as state:
            state.layers.clear()
            for name, layer in layers.items():
                state.layers[name] = layer
            state.dimensions = ng.CoordinateSpace(
                names=["x", "y", "z"], units="nm", scales=list(view.voxel_size)
            )
            state.position = list(view.position)
            state.cross_section_scale = view.scale
            if view.projection_scale is not None:
                state.projection_scale = view.projection_scale
            if view.projection_orientation is not None:
                state.projection_orientation = list(view.projection_orientation)
            state.layout = view.layout
            # overlays drawn over the data (scale bar, axis lines, volume outlines)
            state.show_scale_bar = False
            state.show_axis_lines = False
            state.show_default_annotations = False
            if edit is not None:
                edit(state)
            self._shots += 1
            # a mark the reply carries back unchanged: the client re-serialises layers
            # once their sources load, so whole states do not compare
            state.title = mark = f"voxhub screenshot {self._shots}"
        return self._capture(size, mark)

    def _capture(self, size: tuple[int, int], mark: str) -> np.ndarray:
        """``viewer.screenshot`` with a timeout (the library's own waits forever)."""
        from PIL import Image

        with self.viewer.config_state.txn() as config:
            config.show_ui_controls = False
            config.show_panel_borders = False
            config.viewer_size = list(size)
        for _ in range(5):
            done = threading.Event()
            reply: list[Any] = []

            def received(
                answer: Any, reply: list[Any] = reply, done: threading.Event = done
            ) -> None:
                reply.append(answer)
                done.set()

            self.viewer.async_screenshot(received)
            if not done.wait(self.timeout):
                messages = "\n".join(self.console[-20:]) or "(no console messages)"
                raise StorageError(
                    f"neuroglancer drew no screenshot within {self.timeout:.0f} s: a layer "
                    f"never finished loading? Browser console:\n{messages}"
                )
            shot = reply[0].screenshot
            # the state travels apart from the request: a picture of an older state
            # (or the old size, right after a resize) is taken again
            current = reply[0].viewer_state.title == mark
            if current and (shot.width, shot.height) == size:
                image = Image.open(io.BytesIO(shot.image)).convert("RGB")
                return np.asarray(image)
        raise StorageError(f"neuroglancer did not draw the state asked for at {size}")

"""Image export of the views from Python: ``view.save_image("plot.svg")``.

Only the front end can draw a view, so the kernel asks it: ``save_image`` sends a custom
message ``{"type": "export", "id", "format"}`` to the view's model and every rendering of it
answers ``{"type": "export_result", "id", "ok", ...}`` with the file's bytes as a binary
buffer (the first answer wins). While a notebook cell runs, the kernel cannot receive comm
messages, so the answer arrives only after the cell has finished: ``save_image`` returns a
:class:`concurrent.futures.Future` that the answer completes, after writing the file. Look at
it (``future.result()``, ``future.done()``) in a later cell; calling ``result()`` in the cell
that asked would wait until the timeout, because the answer cannot arrive before the cell
ends.

A view counts its renderings in the synced ``_rendered`` trait (the front end adds one on
mount and takes it back on cleanup); with none, ``save_image`` raises at once instead of
waiting for an answer that cannot come. A count can outlive its page (a reloaded browser tab),
which is what the timeout is for. Details: ``docs/export.md``.
"""

from __future__ import annotations

import os
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from pathlib import Path
from typing import Any, TypeVar

import traitlets

from .._validation import as_float

__all__ = ["FORMATS", "ImageExport", "StackedImageExport", "compose_svgs", "image_format"]

FORMATS = ("png", "svg")
DEFAULT_TIMEOUT = 60.0
SVG_NS = "http://www.w3.org/2000/svg"

T = TypeVar("T")
U = TypeVar("U")


def image_format(path: str | os.PathLike[str], format: str | None = None) -> tuple[Path, str]:
    """Check where an image goes and in which format.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write; its folder must exist.
    format : {"png", "svg"}, optional
        The format; taken from the path's suffix (``.png``, ``.svg``) when omitted.

    Returns
    -------
    (Path, str)
        The path and the format, lower case.
    """
    if isinstance(path, bytes) or not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or a pathlib.Path, got {type(path).__name__} {path!r}")
    target = Path(path)
    suffix = target.suffix.lower().lstrip(".")
    if format is None:
        if suffix not in FORMATS:
            raise ValueError(
                f"path must end in .png or .svg to say the format, got {str(target)!r}; "
                "or pass format='png' or format='svg'"
            )
        format = suffix
    if not isinstance(format, str) or format.lower() not in FORMATS:
        raise ValueError(f"format must be 'png' or 'svg', got {format!r}")
    format = format.lower()
    if suffix in FORMATS and suffix != format:
        raise ValueError(
            f"path {str(target)!r} ends in .{suffix} but format is {format!r}; make them agree"
        )
    if not target.parent.is_dir():
        raise ValueError(f"the folder {str(target.parent)!r} of path does not exist; make it first")
    return target, format


class ImageExport(traitlets.HasTraits):
    """Mixin for an anywidget view: ``save_image`` asks the front end for a PNG or an SVG.

    The front end's part is ``attachExport`` in ``js/src/lib/export.ts``.
    """

    # How many front ends have this view rendered now (kept by the front end).
    _rendered = traitlets.Int(0).tag(sync=True)

    def save_image(
        self,
        path: str | os.PathLike[str],
        format: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Future[Path]:
        """Write this view, as it is drawn in the front end, to a PNG or a vector SVG file.

        The view must already be displayed (in an earlier cell): the front end draws the file
        and its answer reaches the kernel only after the current cell has finished. Check the
        returned Future in a later cell.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write; its folder must exist.
        format : {"png", "svg"}, optional
            Taken from the suffix of ``path`` when omitted.
        timeout : float
            Seconds to wait for the front end's answer before the Future fails (default 60).

        Returns
        -------
        concurrent.futures.Future
            Resolves to the written ``Path``; fails with a RuntimeError when the front end
            reports an error and with a TimeoutError when it does not answer in time.

        Raises
        ------
        RuntimeError
            When no front end has rendered the view yet.
        """
        target, fmt = image_format(path, format)
        timeout = _check_timeout(timeout)
        return _then(self._request_export(fmt, timeout=timeout), lambda data: _write(target, data))

    def _request_export(
        self, format: str, *, svg: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> Future[bytes]:
        """Ask the front end for this view's file (or for ``svg`` rasterised, with "png")."""
        self._require_rendered()
        self._listen_for_exports()
        request_id = uuid.uuid4().hex
        future: Future[bytes] = Future()
        timer = threading.Timer(timeout, self._expire_export, args=(request_id, timeout))
        timer.daemon = True
        self._export_pending()[request_id] = (future, timer)
        content: dict[str, Any] = {"type": "export", "id": request_id, "format": format}
        if svg is not None:
            content["svg"] = svg
        self.send(content)  # type: ignore[attr-defined]
        timer.start()
        return future

    def _require_rendered(self) -> None:
        if int(self._rendered) <= 0:
            raise RuntimeError(
                f"this {type(self).__name__} has not been displayed in a front end yet; "
                "display it, then call save_image in a later cell"
            )

    def _export_pending(self) -> dict[str, tuple[Future[bytes], threading.Timer]]:
        pending = self.__dict__.get("_export_requests")
        if pending is None:
            pending = self.__dict__["_export_requests"] = {}
        return pending

    def _listen_for_exports(self) -> None:
        if not self.__dict__.get("_export_listening"):
            self.on_msg(self._on_export_message)  # type: ignore[attr-defined]
            self.__dict__["_export_listening"] = True

    def _on_export_message(self, _widget: Any, content: Any, buffers: Sequence[Any]) -> None:
        if not isinstance(content, dict) or content.get("type") != "export_result":
            return
        entry = self._export_pending().pop(str(content.get("id")), None)
        if entry is None:
            return  # another rendering answered first, or the request timed out
        future, timer = entry
        timer.cancel()
        if content.get("ok") and buffers:
            _settle(future, result=bytes(buffers[0]))
        elif content.get("ok"):
            _settle(future, error=RuntimeError("the front end's answer held no file"))
        else:
            reason = str(content.get("error") or "no reason given")
            _settle(future, error=RuntimeError(f"the front end could not export: {reason}"))

    def _expire_export(self, request_id: str, timeout: float) -> None:
        entry = self._export_pending().pop(request_id, None)
        if entry is not None:
            _settle(
                entry[0],
                error=TimeoutError(
                    f"no front end answered the export within {timeout:g} s; is the view still "
                    "displayed? (an answer arrives only after the cell that asked has finished)"
                ),
            )


class StackedImageExport:
    """Mixin for a box of exportable views stacked top to bottom (``children``).

    The SVG is the children's SVGs nested one under the other; the PNG is that SVG, rasterised
    by the front end of the first child.
    """

    def save_image(
        self,
        path: str | os.PathLike[str],
        format: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> Future[Path]:
        """Write the stacked views to one PNG or SVG file, as :meth:`ImageExport.save_image`.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write; its folder must exist.
        format : {"png", "svg"}, optional
            Taken from the suffix of ``path`` when omitted.
        timeout : float
            Seconds to wait for each answer of the front end (default 60).

        Returns
        -------
        concurrent.futures.Future
            Resolves to the written ``Path``.
        """
        target, fmt = image_format(path, format)
        timeout = _check_timeout(timeout)
        parts = self._exportable_children()
        for part in parts:
            part._require_rendered()
        svgs = _gather([part._request_export("svg", timeout=timeout) for part in parts])
        composed = _then(svgs, compose_svgs)
        if fmt == "svg":
            return _then(composed, lambda data: _write(target, data))
        first = parts[0]
        png = _chain(
            composed, lambda svg: first._request_export("png", svg=svg.decode(), timeout=timeout)
        )
        return _then(png, lambda data: _write(target, data))

    def _exportable_children(self) -> list[ImageExport]:
        parts = [c for c in getattr(self, "children", ()) if isinstance(c, ImageExport)]
        if not parts:
            raise RuntimeError(f"this {type(self).__name__} holds no view that can be exported")
        return parts


def compose_svgs(svgs: Sequence[bytes]) -> bytes:
    """SVG files stacked top to bottom in one SVG, each nested as an ``<svg>`` at its offset.

    Parameters
    ----------
    svgs : sequence of bytes
        Standalone SVG documents, each with a numeric ``width`` and ``height``.

    Returns
    -------
    bytes
        One SVG document (UTF-8) as wide as the widest part and as tall as all together.
    """
    ET.register_namespace("", SVG_NS)
    parts = [ET.fromstring(svg) for svg in svgs]
    sizes = [(_length(p, "width"), _length(p, "height")) for p in parts]
    width = max((w for w, _ in sizes), default=0.0)
    height = sum(h for _, h in sizes)
    outer = ET.Element(
        f"{{{SVG_NS}}}svg",
        {"width": f"{width:g}", "height": f"{height:g}", "viewBox": f"0 0 {width:g} {height:g}"},
    )
    offset = 0.0
    for part, (_, h) in zip(parts, sizes, strict=True):
        part.set("x", "0")
        part.set("y", f"{offset:g}")
        outer.append(part)
        offset += h
    return ET.tostring(outer, encoding="utf-8", xml_declaration=True)


def _length(svg: ET.Element, name: str) -> float:
    raw = (svg.get(name) or "").removesuffix("px")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"a view's SVG has no numeric {name} (got {raw!r})") from None
    return value


def _check_timeout(timeout: float) -> float:
    timeout = as_float(timeout, "timeout")
    if timeout <= 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
    return timeout


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _settle(future: Future[Any], *, result: Any = None, error: BaseException | None = None) -> None:
    """Complete ``future`` unless it is done already (cancelled by the user, or timed out)."""
    try:
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass


def _then(future: Future[T], fn: Callable[[T], U]) -> Future[U]:
    """A Future of ``fn(result)``, failing as ``future`` fails or as ``fn`` raises."""
    out: Future[U] = Future()

    def done(f: Future[T]) -> None:
        if f.cancelled():
            out.cancel()
        elif (error := f.exception()) is not None:
            _settle(out, error=error)
        else:
            try:
                _settle(out, result=fn(f.result()))
            except Exception as exc:  # the caller reads it from the Future
                _settle(out, error=exc)

    future.add_done_callback(done)
    return out


def _chain(future: Future[T], fn: Callable[[T], Future[U]]) -> Future[U]:
    """A Future of the Future that ``fn(result)`` returns."""
    out: Future[U] = Future()

    def forward(inner: Future[U]) -> None:
        error = None if inner.cancelled() else inner.exception()
        if inner.cancelled():
            out.cancel()
        elif error is not None:
            _settle(out, error=error)
        else:
            _settle(out, result=inner.result())

    def done(f: Future[Future[U]]) -> None:
        if f.cancelled():
            out.cancel()
        elif (error := f.exception()) is not None:
            _settle(out, error=error)
        else:
            f.result().add_done_callback(forward)

    _then(future, fn).add_done_callback(done)
    return out


def _gather(futures: Sequence[Future[T]]) -> Future[list[T]]:
    """A Future of all results, in order; fails with the first failure."""
    out: Future[list[T]] = Future()
    remaining = [len(futures)]
    lock = threading.Lock()

    def done(_: Future[T]) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        failed = next((f for f in futures if f.done() and (f.cancelled() or f.exception())), None)
        if failed is not None:
            error = RuntimeError("cancelled") if failed.cancelled() else failed.exception()
            _settle(out, error=error)
        elif last:
            _settle(out, result=[f.result() for f in futures])

    if not futures:
        _settle(out, result=[])
    for f in futures:
        f.add_done_callback(done)
    return out

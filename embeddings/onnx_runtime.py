"""The CLIP towers exported to ONNX and run in ONNX Runtime (fp32, or int8 weights).

The export is made once per model and library versions (torch's dynamo exporter, a batch
axis of any size) and kept under `Settings.clip_onnx_dir`; every later load only opens it.
Files are written under a temporary name and renamed, so processes exporting at the same
time each leave a whole file and readers never see half of one.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from assetlens.config import Settings
from embeddings.runtimes import RuntimeName

if TYPE_CHECKING:
    import torch

    from embeddings.clip_loader import LoadedModel

log = logging.getLogger(__name__)

MAX_EXPORT_BATCH = 4096


def export_dir(settings: Settings, model_id: str) -> Path:
    """Where the exports of `model_id` made by these library versions live."""
    import open_clip
    import torch

    base = settings.clip_onnx_dir or settings.data_dir / "models" / "onnx"
    safe_id = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)
    versions = re.sub(
        r"[^A-Za-z0-9._-]+", "_", f"torch-{torch.__version__}-open_clip-{open_clip.__version__}"
    )
    return base.resolve() / safe_id / versions


class OnnxRuntime:
    """Both towers as ONNX Runtime sessions on the CPU."""

    def __init__(self, name: RuntimeName, visual: Path, text: Path, threads: int = 0) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads > 0:
            options.intra_op_num_threads = threads
        self.name = name
        self._visual = onnxruntime.InferenceSession(
            str(visual), options, providers=["CPUExecutionProvider"]
        )
        self._text = onnxruntime.InferenceSession(
            str(text), options, providers=["CPUExecutionProvider"]
        )

    def encode_images(self, pixels: torch.Tensor) -> np.ndarray:
        return self._run(self._visual, pixels)

    def encode_texts(self, tokens: torch.Tensor) -> np.ndarray:
        return self._run(self._text, tokens)

    @staticmethod
    def _run(session: Any, x: torch.Tensor) -> np.ndarray:
        [features] = session.run(None, {session.get_inputs()[0].name: x.cpu().numpy()})
        return np.asarray(features, dtype=np.float32)


def build(name: RuntimeName, loaded: LoadedModel, settings: Settings, model_id: str) -> OnnxRuntime:
    """The ONNX runtime `name` (onnx or onnx-int8) of `loaded`, exporting (and quantising)
    it first when this machine has no export of it yet."""
    directory = export_dir(settings, model_id)
    visual, text = export(loaded, directory)
    if name is RuntimeName.ONNX_INT8:
        visual, text = quantized(visual), quantized(text)
    return OnnxRuntime(name, visual, text, settings.clip_threads)


def export(loaded: LoadedModel, directory: Path) -> tuple[Path, Path]:
    """(visual, text) ONNX files of `loaded`'s towers in `directory`, exported if missing."""
    import torch

    visual, text = directory / "visual.onnx", directory / "text.onnx"
    model = loaded.model
    if not visual.exists():
        example = torch.zeros((2, 3, *_image_size(model)), device=loaded.device)
        _export(_tower(model.encode_image), example, visual)
    if not text.exists():
        example = loaded.tokenizer(["a photo", "a drawing"]).to(loaded.device)
        _export(_tower(model.encode_text), example, text)
    return visual, text


def quantized(source: Path) -> Path:
    """`source` with its weights dynamically quantised to int8 (made once, beside it)."""
    target = source.with_suffix(".int8.onnx")
    if not target.exists():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        partial = _partial(target)
        try:
            quantize_dynamic(source, partial, weight_type=QuantType.QInt8)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return target


def _tower(encode: Any) -> torch.nn.Module:
    """One encode method as a module, the unit the exporter traces."""
    import torch

    class Tower(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return encode(x)  # type: ignore[no-any-return]

    return Tower()


def _export(module: torch.nn.Module, example: torch.Tensor, target: Path) -> None:
    import torch

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = _partial(target)
    batch = torch.export.Dim("batch", min=1, max=MAX_EXPORT_BATCH)
    log.info("exporting the CLIP %s tower to ONNX (once per model): %s", target.stem, target)
    try:
        with torch.inference_mode(False), torch.no_grad():
            program = torch.onnx.export(
                module.eval(), (example,), dynamo=True, dynamic_shapes=({0: batch},), verbose=False
            )
        if program is None:  # only the legacy (non-dynamo) exporter returns None
            raise RuntimeError(f"torch.onnx.export made no program for {target.name}")
        program.save(str(partial), external_data=False)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _partial(target: Path) -> Path:
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")


def _image_size(model: Any) -> tuple[int, int]:
    size = model.visual.image_size
    return (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))

"""Ultralytics YOLO detectors, prepared for export the way Ultralytics' own exporter prepares them."""

from __future__ import annotations

from pathlib import Path

import torch

from trtbuild.core.errors import UsageError
from trtbuild.models.base import ModelAdapter


class UltralyticsAdapter(ModelAdapter):
    def build(self) -> torch.nn.Module:
        from ultralytics.nn.modules import C2f, Detect
        from ultralytics.nn.tasks import DetectionModel, load_checkpoint

        weights = self.weights_path()
        if weights is None:
            torch.manual_seed(0)
            model = DetectionModel(self._architecture_yaml(), verbose=False)
        else:
            if not self.spec.options.get("trust_pickle"):
                _vet_checkpoint(weights)
            try:
                model, _ = load_checkpoint(str(weights), device="cpu")
            except Exception as exc:  # ultralytics raises many types for a foreign or broken file
                raise UsageError(f"model.weights: {weights} is not an Ultralytics checkpoint ({exc})") from None
        self._names = dict(model.names) if hasattr(model, "names") else {}
        self._stride = int(max(model.stride)) if hasattr(model, "stride") else 32
        for p in model.parameters():
            p.requires_grad = False
        model = model.eval().float().fuse()
        for m in model.modules():
            if isinstance(m, Detect):  # raw (1, 4+nc, anchors) head output, no in-graph NMS
                m.dynamic = bool(self.recipe.inputs[0].dynamic)
                m.export = True
                m.format = "onnx"
                m.shape = None
            elif isinstance(m, C2f):
                m.forward = m.forward_split  # Split instead of chunk: a cleaner graph for TensorRT
        return model

    def _architecture_yaml(self) -> str:
        cfg = self.spec.options.get("cfg")
        if cfg:
            return str(cfg)
        if self.spec.weights is None:
            raise UsageError("model.options.cfg: needed with random weights (e.g. yolo12n.yaml)")
        return Path(self.spec.weights).with_suffix(".yaml").name  # yolo12n.pt -> the packaged yolo12n.yaml

    def metadata(self) -> dict:
        h, w = self.input_hw
        return {"task": "detect", "stride": self._stride, "imgsz": [h, w], "names": self._names}


def _vet_checkpoint(weights: Path) -> None:
    """Ultralytics .pt files are pickles, and full unpickling runs whatever code a file names. Vet the file first with
    Ultralytics' own weights_only loader (torch.load(weights_only=True) against its allow-list of model classes): it
    refuses such a file instead of running it, and load_checkpoint then unpickles only what that loader accepted."""
    import ultralytics.nn.tasks as tasks

    safe_load = getattr(tasks, "_SafeLoad", None)  # the private flag torch_safe_load itself consults
    if safe_load is None or not safe_load.SUPPORTED:  # older Ultralytics or torch: no weights_only path (README)
        return
    try:
        tasks.torch_safe_load(str(weights), safe_only=True)
    except Exception as exc:  # a foreign type in the pickle, or not a checkpoint at all
        reason = " ".join(str(exc).split())[:200]
        raise UsageError(f"model.weights: {weights} is not an Ultralytics checkpoint that loads with weights_only "
                         f"({reason}); unpickling it could run code from the file. If you trust the file, set "
                         "model.options.trust_pickle: true") from None

"""Export a PyTorch ``nn.Sequential`` as a Saddle model spec plus safetensors weights.

``export_sequential(model, input_size, loss, "out/mlp")`` writes ``out/mlp.json`` (the spec) and
``out/mlp.safetensors`` (the state dict under its own names), which ``model/load`` accepts
unchanged. Mapping (protocol/models.md):

- ``nn.Linear`` → a ``dense`` layer; an activation module right after it is folded into the
  layer's ``activation`` (the daemon then counts the two modules, as ``nn.Sequential`` does);
- an activation module anywhere else → an ``activation`` layer (it takes its own index);
  ``nn.Identity`` is always its own ``activation`` layer, since a dense layer with the identity
  activation counts as one module;
- ``nn.LayerNorm`` over the last axis with a learnable scale and shift → ``layernorm``;
- anything else raises ``ExportError`` naming the module and its index.

torch is imported when the exporter is called, not when this module is imported.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from .safetensors import write_safetensors

__all__ = ["ExportError", "Export", "export_sequential", "sequential_spec"]

_LOSSES = {"mse": "mse", "softmaxCrossEntropy": "softmaxCrossEntropy", "binaryCrossEntropy": "binaryCrossEntropy"}


class ExportError(ValueError):
    """The model has a module, loss or setting Saddle's spec cannot express; the message names it."""


@dataclass
class Export:
    """What :func:`export_sequential` wrote."""

    spec: Dict[str, Any]
    spec_path: str
    weights_path: str
    parameter_count: int

    def load_params(self, name: Optional[str] = None) -> Dict[str, Any]:
        """The params of a ``model/load`` request for this export."""
        params: Dict[str, Any] = {"spec": self.spec, "weights": os.path.abspath(self.weights_path)}
        if name is not None:
            params["name"] = name
        return params


def _activation(module: Any) -> Optional[Dict[str, Any]]:
    """The spec fields of an activation module, or None when the module is not one."""
    import torch.nn as nn

    if isinstance(module, nn.ReLU):
        return {"activation": "relu"}
    if isinstance(module, nn.Tanh):
        return {"activation": "tanh"}
    if isinstance(module, nn.Sigmoid):
        return {"activation": "sigmoid"}
    if isinstance(module, nn.GELU):
        if getattr(module, "approximate", "none") != "none":
            raise ExportError(f"{module!r}: Saddle's gelu is the exact (erf) form; use nn.GELU() without approximate")
        return {"activation": "gelu"}
    if isinstance(module, nn.Softplus):
        if module.beta != 1:
            raise ExportError(f"{module!r}: Saddle's softplus has beta 1")
        return {"activation": "softplus"}
    if isinstance(module, nn.LeakyReLU):
        return {"activation": "leakyRelu", "negativeSlope": float(module.negative_slope)}
    if isinstance(module, nn.Identity):
        return {"activation": "identity"}
    return None


def _loss_name(loss: Any) -> str:
    if isinstance(loss, str):
        if loss not in _LOSSES:
            raise ExportError(f"loss {loss!r} is not one of {', '.join(_LOSSES)}")
        return loss
    import torch.nn as nn

    for cls, name in ((nn.MSELoss, "mse"), (nn.CrossEntropyLoss, "softmaxCrossEntropy"),
                      (nn.BCEWithLogitsLoss, "binaryCrossEntropy")):
        if isinstance(loss, cls):
            if getattr(loss, "reduction", "mean") != "mean":
                raise ExportError(f"{loss!r}: Saddle's losses are means; use reduction='mean'")
            for attr in ("weight", "pos_weight"):
                if getattr(loss, attr, None) is not None:
                    raise ExportError(f"{loss!r}: `{attr}` has no Saddle equivalent")
            if float(getattr(loss, "label_smoothing", 0.0)) != 0.0:
                raise ExportError(f"{loss!r}: label_smoothing has no Saddle equivalent")
            return name
    raise ExportError(f"loss {loss!r} has no Saddle equivalent; use nn.MSELoss, nn.CrossEntropyLoss, "
                      "nn.BCEWithLogitsLoss or one of " + ", ".join(_LOSSES))


def sequential_spec(model: Any, input_size: int, loss: Any) -> Tuple[Dict[str, Any], List[str]]:
    """The Saddle spec of ``model`` and the state-dict names it expects, in order."""
    import torch.nn as nn

    if not isinstance(model, nn.Sequential):
        raise ExportError(f"expected an nn.Sequential, got {type(model).__name__}")
    if not isinstance(input_size, int) or isinstance(input_size, bool) or input_size <= 0:
        raise ExportError(f"input_size must be a positive integer, got {input_size!r}")
    modules = list(model.named_children())
    layers: List[Dict[str, Any]] = []
    names: List[str] = []
    width = input_size
    i = 0
    while i < len(modules):
        index, module = modules[i]
        where = f"module {index} ({module!r})"
        if isinstance(module, nn.Linear):
            if module.in_features != width:
                raise ExportError(f"{where} takes {module.in_features} inputs but receives {width}")
            layer: Dict[str, Any] = {"kind": "dense", "units": module.out_features, "bias": module.bias is not None}
            names.append(f"{index}.weight")
            if module.bias is not None:
                names.append(f"{index}.bias")
            width = module.out_features
            if i + 1 < len(modules) and not isinstance(modules[i + 1][1], nn.Identity):
                folded = _activation(modules[i + 1][1])
                if folded is not None:
                    layer.update(folded)
                    i += 1
            layers.append(layer)
        elif isinstance(module, nn.LayerNorm):
            shape = tuple(module.normalized_shape)
            if shape != (width,):
                raise ExportError(f"{where} normalizes shape {shape}; Saddle's layernorm is over the last axis ({width},)")
            if not module.elementwise_affine or module.weight is None or module.bias is None:
                raise ExportError(f"{where}: Saddle's layernorm has a learnable scale and shift; "
                                  "use elementwise_affine=True with bias")
            layers.append({"kind": "layernorm", "eps": float(module.eps)})
            names += [f"{index}.weight", f"{index}.bias"]
        else:
            act = _activation(module)
            if act is None:
                raise ExportError(f"{where} has no Saddle equivalent; supported: Linear, LayerNorm, ReLU, Tanh, "
                                  "Sigmoid, GELU, Softplus, LeakyReLU, Identity")
            layers.append({"kind": "activation", **act})
        i += 1
    if not any(layer["kind"] == "dense" for layer in layers):
        raise ExportError("the model has no nn.Linear layer")
    spec = {"input": input_size, "layers": layers, "loss": _loss_name(loss)}
    return spec, names


def export_sequential(model: Any, input_size: int, loss: Any, path_prefix: str, dtype: str = "F64") -> Export:
    """Writes ``<path_prefix>.json`` (spec) and ``<path_prefix>.safetensors`` (weights, F64 by default).

    ``loss`` is ``"mse"``, ``"softmaxCrossEntropy"``, ``"binaryCrossEntropy"`` or the matching
    torch loss module (``reduction='mean'``). Weights are written under the state-dict names
    (``0.weight``, ``2.bias``, …); F64 keeps float64 models exact, F32 halves the file. Raises
    :class:`ExportError` for anything the spec cannot express, and ``ValueError`` for
    non-finite weights.
    """
    import torch

    spec, expected = sequential_spec(model, input_size, loss)
    state = model.state_dict()
    if list(state.keys()) != expected:
        raise ExportError(f"state dict names {list(state.keys())} differ from the spec's {expected}")
    tensors = {}
    count = 0
    for name, tensor in state.items():
        t = tensor.detach().to(device="cpu", dtype=torch.float64).contiguous()
        tensors[name] = (list(t.shape), t.reshape(-1).tolist())
        count += t.numel()
    directory = os.path.dirname(path_prefix)
    if directory:
        os.makedirs(directory, exist_ok=True)
    spec_path, weights_path = path_prefix + ".json", path_prefix + ".safetensors"
    write_safetensors(weights_path, tensors, dtype=dtype)
    with open(spec_path, "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=2)
        f.write("\n")
    return Export(spec=spec, spec_path=spec_path, weights_path=weights_path, parameter_count=count)

"""Adds the packed routing output to an exported MoE Lens graph (model-contract addition, 2026-11-24).

  /usr/bin/python3 training/pack_routing.py models/moe-lens-mini/model.onnx

`routing.packed` float32 [batch, seq, L, 2k + E] holds, for every MoE layer in ascending order, the k expert
ids (as floats: exact below 2^24), the k gate weights and the E router scores, copied from the per-layer
`routing.{i}.*` outputs, which stay for other tools. One output instead of 3L saves the per-output cost of
onnxruntime-node's binding each decode step; the logits and caches are untouched. Run by export.py after
every export; idempotent (an existing packed output is replaced).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import onnx
from onnx import TensorProto, helper

PACKED = "routing.packed"


def pack(model: onnx.ModelProto) -> onnx.ModelProto:
    graph = model.graph
    for out in [o for o in graph.output if o.name == PACKED]:
        graph.output.remove(out)
    for node in [n for n in graph.node if n.name.startswith("/routing_packed/")]:
        graph.node.remove(node)
    outputs = {o.name: o for o in graph.output}
    layers = sorted(int(m.group(1)) for name in outputs if (m := re.fullmatch(r"routing\.(\d+)\.expert_ids", name)))
    if not layers:
        raise SystemExit("the graph has no routing.{i}.expert_ids outputs: nothing to pack")
    dims = lambda name: [d.dim_value for d in outputs[name].type.tensor_type.shape.dim]
    k, e = dims(f"routing.{layers[0]}.expert_ids")[-1], dims(f"routing.{layers[0]}.router_scores")[-1]
    axes = helper.make_tensor("/routing_packed/axes", TensorProto.INT64, [1], [2])
    graph.initializer.append(axes)
    per_layer = []
    for i in layers:
        ids = f"/routing_packed/{i}/ids_float"
        row = f"/routing_packed/{i}/row"
        graph.node.append(helper.make_node("Cast", [f"routing.{i}.expert_ids"], [ids], name=f"/routing_packed/{i}/Cast",
                                           to=TensorProto.FLOAT))
        graph.node.append(helper.make_node("Concat", [ids, f"routing.{i}.expert_weights", f"routing.{i}.router_scores"], [row],
                                           name=f"/routing_packed/{i}/Concat", axis=-1))
        graph.node.append(helper.make_node("Unsqueeze", [row, axes.name], [f"{row}/unsqueezed"],
                                           name=f"/routing_packed/{i}/Unsqueeze"))
        per_layer.append(f"{row}/unsqueezed")
    graph.node.append(helper.make_node("Concat", per_layer, [PACKED], name="/routing_packed/Concat", axis=2))
    graph.output.append(helper.make_tensor_value_info(PACKED, TensorProto.FLOAT, ["batch", "seq", len(layers), 2 * k + e]))
    onnx.checker.check_model(model)
    return model


def main() -> None:
    path = Path(sys.argv[1])
    model = pack(onnx.load(str(path)))
    onnx.save(model, str(path))
    print(f"{path}: added {PACKED}")


if __name__ == "__main__":
    main()

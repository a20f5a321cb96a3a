"""Loads adapters that AdapterKit saved with `format: 'bin'` into adapter-transformers 3.2.1 and compares its outputs
with the golden reference outputs.

usage: PYTHONPATH=<adapter-transformers>/src:<huggingface_hub>/src /usr/bin/python3 at_load_check.py GOLDEN SAVED CASE...

GOLDEN is a golden folder (fixtures/golden); SAVED/<model>/<case>/ holds what AdapterKit wrote for CASE (`model/case`):
adapter_config.json + pytorch_adapter.bin, no safetensors file (adapter-transformers 3.x reads only `.bin`).
Prints one JSON line per case: {"case", "name", "max_abs_diff", "outputs"}.
"""
import json
import os
import struct
import sys

import torch
import transformers


def read_safetensors(path):
    """A minimal safetensors reader (float32 only; the golden files are float32)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__":
            continue
        b, e = v["data_offsets"]
        assert v["dtype"] == "F32", (k, v["dtype"])
        t = torch.frombuffer(bytearray(data[b:e]), dtype=torch.float32) if e > b else torch.zeros(0)
        out[k] = t.reshape(v["shape"]).clone()
    return out


def build(golden, model, model_class):
    config = transformers.AutoConfig.from_pretrained(os.path.join(golden, "models", model))
    m = getattr(transformers, model_class)(config)
    weights = read_safetensors(os.path.join(golden, "models", model, "model.safetensors"))
    base = m.base_model
    missing, unexpected = base.load_state_dict(weights, strict=False)
    missing = [k for k in missing if "position_ids" not in k and "masked_bias" not in k and not k.endswith(".attn.bias")]
    assert not missing and not unexpected, (missing, unexpected)
    if hasattr(m, "tie_weights"):
        m.tie_weights()
    return m.eval()


def main():
    golden, saved, cases = sys.argv[1], sys.argv[2], sys.argv[3:]
    inputs = json.load(open(os.path.join(golden, "inputs.json")))
    torch.manual_seed(0)
    for case in cases:
        model, name = case.split("/")
        meta = json.load(open(os.path.join(golden, "cases", model, name, "meta.json")))
        m = build(golden, model, meta["model_class"])
        folder = os.path.join(saved, model, name)
        assert not any(f.endswith(".safetensors") for f in os.listdir(folder)), os.listdir(folder)
        loaded = m.load_adapter(folder)  # with its head where the folder has one (flex models: with_head=True)
        m.set_active_adapters(loaded)
        feed = {k: torch.tensor(v) for k, v in inputs[model].items()}
        with torch.no_grad():
            out = m(**feed, output_hidden_states=True, return_dict=True)
        ref = read_safetensors(os.path.join(golden, "cases", model, name, "output.safetensors"))
        hidden = getattr(out, "hidden_states", None)
        got = {"last_hidden_state": hidden[-1] if hidden is not None and getattr(out, "last_hidden_state", None) is None else out.last_hidden_state}
        if getattr(out, "pooler_output", None) is not None:
            got["pooler_output"] = out.pooler_output
        logits = getattr(out, "logits", None)
        if logits is None and meta.get("kind") == "flex_head":
            logits = out[0]  # the flex head's logits
        if logits is not None:
            got["logits"] = logits
        diffs = {k: float((got[k] - ref[k]).abs().max()) for k in got if k in ref}
        print(json.dumps({"case": case, "name": loaded, "max_abs_diff": max(diffs.values()), "outputs": diffs}), flush=True)


if __name__ == "__main__":
    main()

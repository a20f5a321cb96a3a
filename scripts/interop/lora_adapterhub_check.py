"""What the AdapterHub libraries make of LoRA adapters that AdapterKit saved (scripts/interop-lora-adapterhub.test.ts).

usage:
  at MODEL_DIR INPUTS_JSON INPUTS_KEY CASE_DIR...   (PYTHONPATH=<adapter-transformers 3.2.1>/src:<huggingface_hub 0.13.4>/src)
      Builds the bare model of MODEL_DIR (config.json + model.safetensors), `load_adapter(CASE_DIR/adapter)` (adapter_config.json
      + pytorch_adapter.bin), activates it, runs INPUTS_JSON[INPUTS_KEY] and compares the last hidden state with
      CASE_DIR/expected.safetensors (what AdapterKit computed).
  ad ADAPTERS_SRC CASE_DIR...                        (ADAPTERS_SRC = <adapters 1.1.0>/src; needs no torch or transformers)
      Loads only `adapters/configuration/adapter_config.py` of `adapters` 1.1.0 (its one package import,
      `..utils.resolve_adapter_config`, replaced by a stub that passes dicts through, as the real one does) and runs
      `AdapterConfig.load(config)` on CASE_DIR/adapter/adapter_config.json's "config".
Prints one JSON line per case:
  at: {"case", "config_class", "ignored_keys", "dropped_weights", "missing_weights", "max_abs_diff"}
  ad: {"case", "config_class", "ignored_keys", "to_dict_matches"}
ignored_keys: config keys that are not fields of the loaded config class (from_dict keeps them as attributes, but
  add_adapter stores the config without them: adapter-transformers 3.2.1 ignores even `leave_out` for LoRA);
dropped_weights: weight keys of the file the model has no parameter for (load_adapter drops them, logging at info level);
missing_weights: LoRA parameters the model built for the adapter that the file lacks (they keep their initial values).
"""
import json
import os
import struct
import sys
import tempfile


def read_safetensors(path):
    import torch

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
        out[k] = torch.frombuffer(bytearray(data[b:e]), dtype=torch.float32).reshape(v["shape"]).clone()
    return out


def config_of(case):
    with open(os.path.join(case, "adapter", "adapter_config.json")) as f:
        return json.load(f)["config"]


def run_at(model_dir, inputs_json, inputs_key, cases):
    import torch
    import transformers
    from transformers.adapters import AdapterConfigBase

    inputs = json.load(open(inputs_json))[inputs_key]
    for case in cases:
        torch.manual_seed(0)
        m = transformers.AutoModel.from_config(transformers.AutoConfig.from_pretrained(model_dir))
        missing, unexpected = m.load_state_dict(read_safetensors(os.path.join(model_dir, "model.safetensors")), strict=False)
        assert not unexpected and all("position_ids" in k for k in missing), (missing, unexpected)
        m.eval()
        folder = os.path.join(case, "adapter")
        name = m.load_adapter(folder)
        m.set_active_adapters(name)
        loaded = m.config.adapters.get(name)
        loaded = AdapterConfigBase.load(loaded) if not isinstance(loaded, AdapterConfigBase) else loaded
        file_keys = torch.load(os.path.join(folder, "pytorch_adapter.bin"), map_location="cpu").keys()
        model_keys = set(m.state_dict().keys())
        with torch.no_grad():
            out = m(**{k: torch.tensor(v) for k, v in inputs.items()}, return_dict=True)
        expected = read_safetensors(os.path.join(case, "expected.safetensors"))["last_hidden_state"]
        print(json.dumps({
            "case": os.path.basename(case),
            "config_class": type(loaded).__name__,
            "ignored_keys": sorted(k for k in config_of(case) if k not in type(loaded).__dataclass_fields__),
            "dropped_weights": sorted(k for k in file_keys if k not in model_keys),
            "missing_weights": sorted(k for k in model_keys if f".loras.{name}." in k and k not in file_keys),
            "max_abs_diff": float((out.last_hidden_state - expected).abs().max()),
        }), flush=True)


def run_ad(src, cases):
    # A package `adapters` holding only configuration/adapter_config.py of the real source tree and a stub `utils`.
    root = tempfile.mkdtemp()
    for sub in ("adapters", os.path.join("adapters", "configuration")):
        os.makedirs(os.path.join(root, sub))
        open(os.path.join(root, sub, "__init__.py"), "w").close()
    with open(os.path.join(root, "adapters", "utils.py"), "w") as f:
        f.write("from collections.abc import Mapping\n"
                "def resolve_adapter_config(config, local_map=None, **kwargs):\n"
                "    if isinstance(config, Mapping):\n        return config\n"
                "    if local_map and config in local_map:\n        return local_map[config]\n"
                "    raise ValueError('stub: only dicts and local names')\n")
    with open(os.path.join(src, "adapters", "configuration", "adapter_config.py")) as f:
        code = f.read()
    with open(os.path.join(root, "adapters", "configuration", "adapter_config.py"), "w") as f:
        f.write(code)
    sys.path.insert(0, root)
    from adapters.configuration.adapter_config import AdapterConfig

    for case in cases:
        config = config_of(case)
        loaded = AdapterConfig.load(dict(config))
        fields = type(loaded).__dataclass_fields__
        known = {k: v for k, v in config.items() if k in fields}
        print(json.dumps({
            "case": os.path.basename(case),
            "config_class": type(loaded).__name__,
            "ignored_keys": sorted(k for k in config if k not in fields),
            "to_dict_matches": all(loaded.to_dict()[k] == v for k, v in known.items()),
        }), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "at":
        run_at(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    elif sys.argv[1] == "ad":
        run_ad(sys.argv[2], sys.argv[3:])
    else:
        raise SystemExit(__doc__)

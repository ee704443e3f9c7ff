"""Checks `fusebox convert BASE OUT --merge-adapter ADAPTER` in the real stack (dev-time; needs torch).

    ORACLE_PYTHON tools/oracle-merge.py [FIXTURES] [--fusebox CMD]

ORACLE_PYTHON has transformers 5.x (tools/setup-python-oracle.sh). FIXTURES (default: the converter's test resources
lora/merge, made by tools/make-merge-fixtures.py) holds a tiny legacy base, in float32 and float64, the adapters,
and the float64 logits of each adapter applied by PEFT 0.21 (unmerged) on transformers 4.x, where the adapter was
made. For each adapter and each base, Fusebox merges the adapter into the base and converts it to v5; transformers
5 loads the result in float64 and its logits are compared with those of PEFT's own float64 merge (truth-NAME, put
into the base and loaded by transformers 5 the same way: within 1e-12 for the float64 base, 1e-5 for the float32
one, whose merged weights are rounded to float32) and with PEFT applying the adapter in transformers 4 (within
1e-4). Prints one markdown row per case and exits 1 if one is off.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
import shutil  # noqa: E402

import torch  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = os.path.join(ROOT, "converter/src/test/resources/dev/fusebox/converter/lora/merge")


def load(path):
    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float64, attn_implementation="eager",
                                                experts_implementation="eager").eval()


def peft_merged(fixtures, base, name, tmp):
    """The legacy base with PEFT's float64 merge (truth-NAME) in it, as a legacy checkpoint in float64."""
    out = os.path.join(tmp, "peft-merged")
    os.makedirs(out)
    shutil.copy(os.path.join(fixtures, base, "config.json"), out)
    tensors = {k: v.double() for k, v in load_file(os.path.join(fixtures, base, "model.safetensors")).items()}
    tensors.update(load_file(os.path.join(fixtures, "truth-" + name + ".float64.safetensors")))
    save_file(tensors, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fixtures", nargs="?", default=DEFAULT)
    ap.add_argument("--fusebox", default=os.path.join(ROOT, "fusebox"))
    args = ap.parse_args()
    adapters = sorted(d[len("adapter-"):] for d in os.listdir(args.fixtures) if d.startswith("adapter-"))
    failed = 0
    print("| adapter | base | PEFT's adapter effect | against PEFT's merge, in transformers 5 | "
          "against PEFT applying it, in transformers 4 | verdict |")
    print("|---|---|---|---|---|---|")
    for name in adapters:
        ref = json.load(open(os.path.join(args.fixtures, "logits-" + name + ".json")))
        applied = torch.tensor(ref["logits"], dtype=torch.float64)
        ids = torch.tensor(ref["input_ids"])
        bases = (("base-jamba", 1e-4),) if name.startswith("jamba") else (("base-float64", 1e-12), ("base", 1e-5))
        for base, tolerance in bases:
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "merged")
                run = subprocess.run([args.fusebox, "convert", os.path.join(args.fixtures, base), out,
                                      "--merge-adapter", os.path.join(args.fixtures, "adapter-" + name)],
                                     capture_output=True, text=True)
                if run.returncode != 0:
                    print(f"| {name} | {base} | | | | **fusebox failed** ({run.returncode}): {run.stderr.strip()} |")
                    failed += 1
                    continue
                with torch.no_grad():
                    got = load(out)(ids).logits[0]
                    truth = load(peft_merged(args.fixtures, base, name, tmp))(ids).logits[0]
                    plain = load(os.path.join(args.fixtures, base))(ids).logits[0]
                diff = (got - truth).abs().max().item()
                # transformers 4 routes qwen2_moe in float32 even in a float64 model: ~1e-8 between the worlds
                cross = (got - applied).abs().max().item()
                ok = diff <= tolerance and cross <= 1e-4
                failed += 0 if ok else 1
                print(f"| {name} | {base} | {(plain - applied).abs().max().item():.3g} | {diff:.2g} | {cross:.2g} | "
                      f"{'exact' if ok else '**off**'} |")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

"""Checks `fusebox convert BASE OUT --merge-adapter ADAPTER` in the real stack (dev-time; needs torch).

    ORACLE_PYTHON tools/oracle-merge.py [FIXTURES] [--fusebox CMD]

ORACLE_PYTHON has transformers 5.x (tools/setup-python-oracle.sh). FIXTURES (default: the converter's test resources
lora/merge, made by tools/make-merge-fixtures.py) holds a tiny legacy base, in float32 and float64, the adapters,
and the float64 logits of each adapter applied by PEFT 0.21 (unmerged) on transformers 4.x, where the adapter was
made. For each adapter and each base, Fusebox merges the adapter into the base and converts it to v5; transformers
5 loads the result in float64 and its logits are compared with PEFT's. Prints one row per case and exits 1 if one
is off by more than its tolerance (1e-10 for the float64 base, 1e-4 for the float32 one, whose merged weights are
rounded to float32).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
import torch  # noqa: E402
from transformers import AutoModelForCausalLM  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = os.path.join(ROOT, "converter/src/test/resources/dev/fusebox/converter/lora/merge")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("fixtures", nargs="?", default=DEFAULT)
    ap.add_argument("--fusebox", default=os.path.join(ROOT, "fusebox"))
    args = ap.parse_args()
    adapters = sorted(d[len("adapter-"):] for d in os.listdir(args.fixtures) if d.startswith("adapter-"))
    failed = 0
    print("| adapter | base | PEFT's adapter effect | max \\|Δlogits\\| of Fusebox's merged v5 base | verdict |")
    print("|---|---|---|---|---|")
    for name in adapters:
        ref = json.load(open(os.path.join(args.fixtures, "logits-" + name + ".json")))
        want = torch.tensor(ref["logits"], dtype=torch.float64)
        ids = torch.tensor(ref["input_ids"])
        for base, tolerance in (("base-float64", 1e-10), ("base", 1e-4)):
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "merged")
                run = subprocess.run([args.fusebox, "convert", os.path.join(args.fixtures, base), out,
                                      "--merge-adapter", os.path.join(args.fixtures, "adapter-" + name)],
                                     capture_output=True, text=True)
                if run.returncode != 0:
                    print(f"| {name} | {base} | | | **fusebox failed** ({run.returncode}): {run.stderr.strip()} |")
                    failed += 1
                    continue
                model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float64).eval()
                plain = AutoModelForCausalLM.from_pretrained(os.path.join(args.fixtures, base),
                                                             dtype=torch.float64).eval()
                with torch.no_grad():
                    got = model(ids).logits[0]
                    effect = (plain(ids).logits[0] - want).abs().max().item()
                diff = (got - want).abs().max().item()
                ok = diff <= tolerance
                failed += 0 if ok else 1
                print(f"| {name} | {base} | {effect:.3g} | {diff:.2g} | {'exact' if ok else '**off**'} |")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

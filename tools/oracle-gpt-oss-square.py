"""tools/oracle-lora.py's check for a gpt_oss adapter whose expert LoRA is on a parameter square per expert.

    ORACLE_PYTHON tools/oracle-gpt-oss-square.py [--keep DIR] [--fixtures OUT]
        (environment: FUSEBOX_LEGACY_PYTHON, a python with transformers 4.57 + PEFT 0.21)

oracle-lora's tiny gpt_oss has gate_up_proj [E, 64, 192]. Here intermediate_size is half the hidden size, so
gate_up_proj is [E, 64, 64]: a LoRA on it has the same factor shapes made on transformers 4.57 and on 5.18, though
each holds the other transposed, so nothing in the adapter tells its layout. The adapter (target_parameters
mlp.experts.gate_up_proj, target_modules q_proj) is made by the real PEFT in the legacy world; then, as in
oracle-lora: (a) PEFT 0.21 on transformers 5.18 loading it as it is, against the truth (the adapter merged into the
legacy weights in float64); (b) `fusebox plan`, which must refuse for want of a direction and say so; (c) `fusebox
convert --to v5` loaded by PEFT against the truth; (d) `fusebox convert --to legacy` back, byte for byte. With
--fixtures, the case goes under OUT/gpt_oss_square/gate_up/, its base under OUT/gpt_oss_square/base/.
Exits 1 when a step disagrees.
"""
import argparse
import importlib.util
import json
import os
import shutil
import sys
import tempfile

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("oracle_lora", os.path.join(ROOT, "tools", "oracle-lora.py"))
oracle = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(oracle)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", help="keep the base and adapters under this folder")
    ap.add_argument("--fixtures", help="write the case as a unit-test fixture under this folder")
    a = ap.parse_args()
    work = os.path.join(a.keep or tempfile.mkdtemp(prefix="oracle-gpt-oss-square-"), "gpt_oss")
    base_dir = os.path.join(work, "base")
    shutil.rmtree(work, ignore_errors=True)
    torch.manual_seed(0)
    config = oracle.families.tiny_config("gpt_oss")
    config.intermediate_size = config.hidden_size // 2  # gate_up_proj [E, H, 2I] square per expert
    config.tie_word_embeddings = False
    model = oracle.quiet(oracle.AutoModelForCausalLM.from_config, config, dtype=torch.float32)
    oracle.quiet(model.save_pretrained, base_dir)
    legacy, v5, back = (os.path.join(work, "square_gate_up", d) for d in ("legacy", "v5", "back"))
    os.makedirs(os.path.dirname(legacy))
    job = {"base": base_dir, "out": legacy, "dtype": "float32", "bin": False, "seed": 0,
           "config": {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj"],
                      "target_parameters": ["mlp.experts.gate_up_proj"]}}
    made = oracle.make_adapters("gpt_oss", [job])[legacy]
    ref = oracle.logits(oracle.load(base_dir))
    want = oracle.truth(base_dir, legacy)
    row = {"type": "gpt_oss", "variant": "square gate_up", "made": made,
           "effect": f"{(want - ref).abs().max().item():.2g}"}
    got, error = oracle.peft_logits(base_dir, legacy)
    row["peft"], row["peft_detail"] = oracle.outcome(got, error, want, ref)
    rc, out, err = oracle.fusebox("plan", legacy, "--base", base_dir, "--json")
    row["plan"] = "refuses (no direction)" if rc == 2 and "--to v5 or --to legacy" in err else f"exit {rc}"
    row["plan_detail"] = err.strip()[:400]
    rc, out, err = oracle.fusebox("plan", legacy, "--base", base_dir, "--to", "v5", "--json")
    check = json.loads(out).get("peft_check", {}) if rc == 0 else {}
    row["plan_to_v5"] = oracle.VERDICT.get(check.get("verdict"), f"exit {rc}: {err.strip()[:200]}")
    rc, out, err = oracle.fusebox("convert", legacy, v5, "--base", base_dir, "--to", "v5")
    if rc != 0:
        row["fusebox"], row["fusebox_detail"] = "refuses", err.strip()[:400]
    else:
        got, error = oracle.peft_logits(base_dir, v5)
        row["fusebox"], row["fusebox_detail"] = oracle.outcome(got, error, want, ref)
        rc, out, err = oracle.fusebox("convert", v5, back, "--base", base_dir, "--to", "legacy")
        x, y = (oracle.tensors(legacy), oracle.tensors(back)) if rc == 0 else ({}, {None: None})
        row["back"] = "bytes" if x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x) else \
            f"not the same: {err.strip()[:200]}"
    row["ok"] = (row["plan"] == "refuses (no direction)" and row["plan_to_v5"] == row["peft"]
                 and row["fusebox"] == "exact" and row["back"] == "bytes")
    print(json.dumps(row, indent=1))
    if a.fixtures:  # its own folder: export() puts the base beside the case, and this base is not oracle-lora's
        oracle.export(os.path.join(a.fixtures, "gpt_oss_square", "gate_up"), base_dir, legacy, row)
    if not a.keep:
        shutil.rmtree(os.path.dirname(work), ignore_errors=True)
    return 0 if row["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())

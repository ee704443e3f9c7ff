"""Checks `fusebox convert BASE OUT --merge-adapter ADAPTER` for LoRA on experts stored stacked in 4.x already.

    ORACLE_PYTHON tools/oracle-merge-stacked.py [MODEL_TYPE ...] [--variants A,B]
        (environment: FUSEBOX_LEGACY_PYTHON, a python with transformers 4.57 + PEFT 0.21)

granitemoe, granitemoeshared, aria_text and gpt_oss keep their experts as stacked parameters in 4.x too, so their
adapters reach them through target_parameters (PEFT's ParamWrapper). For each type and variant (tools/oracle-lora.py's
tiny base and variants; default: experts+attention, rslora, router, and gpt_oss's expert biases) the legacy adapter
is made by the real PEFT in the legacy world and converted to v5 by `fusebox convert`; then PEFT 0.21 on
transformers 5.18 merges the v5 adapter into the float64 v5 model (`merge_and_unload()`), and Fusebox merges the
legacy adapter and the v5 one into the float32 base (written in v5). Each of Fusebox's merged tensors is compared
with PEFT's (max |Δ|, float32 rounding expected), and the merged model's logits with oracle-lora's truth (the legacy
adapter merged in float64; within 1e-4). Prints one line per case; exits 1 when one is off.
"""
import argparse
import importlib.util
import os
import shutil
import sys
import tempfile

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location("oracle_lora", os.path.join(ROOT, "tools", "oracle-lora.py"))
oracle = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(oracle)

TYPES = ["granitemoe", "granitemoeshared", "aria_text", "gpt_oss"]
VARIANTS = ["experts+attention", "rslora", "router", "expert biases"]
WEIGHTS = 1e-6  # float32 rounding of weights of magnitude about 1 to 10


def peft_merged(base_dir, adapter_dir):
    from peft import PeftModel
    model = oracle.quiet(PeftModel.from_pretrained, oracle.load(base_dir), adapter_dir)
    return {k: v.detach() for k, v in model.merge_and_unload().state_dict().items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_types", nargs="*")
    ap.add_argument("--variants", help="comma-separated variant names (default: " + ", ".join(VARIANTS) + ")")
    a = ap.parse_args()
    wanted = a.variants.split(",") if a.variants else VARIANTS
    failed = 0
    for t in a.model_types or TYPES:
        work = os.path.join(tempfile.mkdtemp(prefix="oracle-merge-stacked-"), t)
        base_dir = os.path.join(work, "base")
        torch.manual_seed(0)
        config = oracle.families.tiny_config(t)
        config.tie_word_embeddings = False
        oracle.quiet(oracle.quiet(oracle.AutoModelForCausalLM.from_config, config, dtype=torch.float32)
                     .save_pretrained, base_dir)
        table = oracle.stacked_variants(*oracle.STACKED[t], oracle.STACKED_EXTRA.get(t))
        chosen = [(seed, name, spec) for seed, (name, spec) in enumerate(table.items()) if name in wanted]
        jobs = []
        for seed, name, (kwargs, dtype, as_bin) in chosen:
            os.makedirs(oracle.case_dir(work, name))
            jobs.append({"base": base_dir, "out": os.path.join(oracle.case_dir(work, name), "legacy"),
                         "config": kwargs, "dtype": dtype, "bin": as_bin, "seed": seed})
        made = oracle.make_adapters(t, jobs)
        for (seed, name, spec), job in zip(chosen, jobs):
            legacy = job["out"]
            if isinstance(made[legacy], oracle.Skip):
                print(f"{t:16} {name:18} skipped: {made[legacy]}")
                continue
            case = os.path.dirname(legacy)
            v5 = os.path.join(case, "v5")
            rc, out, err = oracle.fusebox("convert", legacy, v5, "--base", base_dir)
            if rc:
                print(f"{t:16} {name:18} FAIL: convert exited {rc}: {err.strip()[:200]}")
                failed += 1
                continue
            truth = oracle.truth(base_dir, legacy)
            peft = peft_merged(base_dir, v5)
            line = []
            ok = True
            for which, adapter in (("legacy", legacy), ("v5", v5)):
                merged = os.path.join(case, "merged-" + which)
                rc, out, err = oracle.fusebox("convert", base_dir, merged, "--merge-adapter", adapter)
                if rc:
                    line.append(f"{which}: merge exited {rc}: {err.strip()[:160]}")
                    ok = False
                    continue
                mine = oracle.tensors(merged)
                missing = sorted(set(mine) - set(peft))
                worst = max((mine[k].double() - peft[k].double()).abs().max().item() for k in mine if k in peft)
                logits = (oracle.logits(oracle.load(merged)) - truth).abs().max().item()
                ok &= not missing and worst <= WEIGHTS and logits <= oracle.TOL
                line.append(f"{which}: tensors vs PEFT's merge {worst:.1e}, logits vs truth {logits:.1e}"
                            + (f", not in PEFT's state dict: {missing[:2]}" if missing else ""))
            failed += not ok
            print(f"{t:16} {name:18} {'ok  ' if ok else 'FAIL'} " + "; ".join(line), flush=True)
        shutil.rmtree(os.path.dirname(work), ignore_errors=True)
    print(f"{failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

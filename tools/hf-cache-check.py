"""Dev-time check that Fusebox converts models as huggingface_hub caches them into folders transformers loads.

Builds a Hugging Face cache with huggingface_hub's own functions (repo_folder_name, _create_symlink: relative links
snapshots/<rev>/<file> -> ../../blobs/<etag>, refs/main), from the tiny legacy Mixtral fixture and the companion
files of converter/src/test/resources/.../hf-companions, in a sharded and a single-file snapshot; checks that
huggingface_hub's scan_cache_dir sees them and that transformers loads the cached legacy model from the cache; then
runs `fusebox convert ORG/NAME OUT` (HF_HUB_CACHE pointing at the cache) and `fusebox convert REPO_FOLDER OUT` for
each and loads OUT with
AutoModelForCausalLM and AutoTokenizer, comparing logits with the cached legacy model's.

    FUSEBOX=./fusebox python tools/hf-cache-check.py [WORK_DIR]

Needs torch, transformers 5.x and huggingface_hub.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is in the cache; never ask the Hub

import torch
from huggingface_hub import scan_cache_dir
from huggingface_hub.file_download import _create_symlink, repo_folder_name
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, AutoTokenizer

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "fixtures/mixtral-tiny/legacy-base"
COMPANIONS = REPO / "converter/src/test/resources/dev/fusebox/converter/checkpoint/hf-companions"
FUSEBOX = os.environ.get("FUSEBOX", str(REPO / "fusebox"))


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def add_snapshot(cache: Path, repo_id: str, revision: str, files: dict, main: bool) -> Path:
    storage = cache / repo_folder_name(repo_id=repo_id, repo_type="model")
    (storage / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot = storage / "snapshots" / revision
    snapshot.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        etag = hashlib.sha256(data).hexdigest() if name.endswith(".safetensors") else git_blob_sha1(data)
        blob = storage / "blobs" / etag
        if not blob.exists():
            blob.write_bytes(data)
        _create_symlink(str(blob), str(snapshot / name), new_blob=False)
    if main:
        (storage / "refs").mkdir(exist_ok=True)
        (storage / "refs" / "main").write_text(revision)
    return snapshot


def companions() -> dict:
    files = {"config.json": (FIXTURE / "config.json").read_bytes(), "README.md": b"# mixtral-tiny\n"}
    for p in sorted(COMPANIONS.iterdir()):
        if p.name != "README.md":
            files[p.name] = p.read_bytes()
    return files


def main() -> int:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="hf-cache-check-"))
    cache = work / "hub"
    tensors = load_file(FIXTURE / "model.safetensors")
    single = companions() | {"model.safetensors": (FIXTURE / "model.safetensors").read_bytes()}
    keys = sorted(tensors)
    half = len(keys) // 2
    sharded = companions()
    weight_map = {}
    for i, part in enumerate((keys[:half], keys[half:]), start=1):
        name = f"model-0000{i}-of-00002.safetensors"
        tmp = work / name
        save_file({k: tensors[k] for k in part}, tmp, metadata={"format": "pt"})
        sharded[name] = tmp.read_bytes()
        tmp.unlink()
        weight_map.update({k: name for k in part})
    sharded["model.safetensors.index.json"] = json.dumps({"metadata": {"total_size": 0},
                                                          "weight_map": weight_map}, indent=2).encode()
    cases = {"fusebox-test/tiny-single": ("1" * 40, single), "fusebox-test/tiny-sharded": ("2" * 40, sharded)}
    for repo_id, (rev, files) in cases.items():
        add_snapshot(cache, repo_id, rev, files, main=True)
    info = scan_cache_dir(cache)
    assert not info.warnings, info.warnings
    print("scan_cache_dir:", sorted((r.repo_id, [v.commit_hash[:7] for v in r.revisions], r.nb_files)
                                    for r in info.repos))
    tokens = torch.tensor([[1, 17, 42, 99, 200, 2]])
    ok = True
    env = dict(os.environ, HF_HUB_CACHE=str(cache))
    inputs = [(repo_id, repo_id) for repo_id in cases]
    inputs += [(repo_id, str(cache / repo_folder_name(repo_id=repo_id, repo_type="model"))) for repo_id in cases]
    for n, (repo_id, given) in enumerate(inputs):
        legacy = AutoModelForCausalLM.from_pretrained(repo_id, cache_dir=cache, local_files_only=True,
                                                      dtype=torch.float32)
        out = work / f"{n}-{repo_id.split('/')[1]}-v5"
        run = subprocess.run([FUSEBOX, "convert", given, str(out)], env=env, capture_output=True, text=True)
        print(given, "convert exit", run.returncode, run.stderr.strip()[-300:])
        links = [p.name for p in out.iterdir() if p.is_symlink()]
        converted = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(out)
        encoded = tokenizer("hello", return_tensors="pt")["input_ids"]
        with torch.no_grad():
            diff = (legacy(tokens).logits - converted(tokens).logits).abs().max().item()
        chat = tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False)
        print(f"  files {sorted(p.name for p in out.iterdir())}")
        print(f"  links {links}; max |logits difference| {diff}; tokenizer('hello') {encoded.tolist()}; "
              f"chat {chat!r}")
        ok &= run.returncode == 0 and not links and diff == 0.0 and tokenizer.vocab_size == 256
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Writes the companion files of the fake Hugging Face cache the converter's tests build (HfCacheTest):
a tokenizer (tokenizer.json, tokenizer_config.json, chat_template.jinja) and generation_config.json for the tiny
Mixtral fixture (vocab 256, bos 1, eos 2), saved by the real transformers and tokenizers libraries.

    python tools/make-hf-companions.py OUT_DIR

Needs transformers 5.x (and the tokenizers library it brings).
"""
import sys
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import GenerationConfig, PreTrainedTokenizerFast

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)

# A byte-level tokenizer with no merges: ids 0-2 are <unk>, <s>, </s>; the other 253 are byte symbols, so the
# vocabulary is exactly the fixture's 256 embeddings.
alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())[:253]
vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
for i, ch in enumerate(alphabet):
    vocab[ch] = i + 3
tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
tok.decoder = decoders.ByteLevel()
fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
fast.chat_template = "{% for m in messages %}<s>{{ m['role'] }}: {{ m['content'] }}</s>{% endfor %}"
fast.save_pretrained(out)
GenerationConfig(bos_token_id=1, eos_token_id=2).save_pretrained(out)
for p in sorted(out.iterdir()):
    print(p.name, p.stat().st_size)

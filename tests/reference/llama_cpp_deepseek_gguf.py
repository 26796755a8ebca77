#!/usr/bin/python3
"""Converts a DeepSeek HF directory to GGUF with llama.cpp's own convert_hf_to_gguf.py (its
DeepseekV2Model: the deepseek2 keys, the merged experts and the split attn_k_b / attn_v_b with
head_count_kv 1), as an independent writer of the layout `moe run` must read.

Usage: llama_cpp_deepseek_gguf.py LLAMA_CPP_DIR HF_DIR OUT.gguf

Runs offline without `transformers` or `tqdm` (not installed here): a stand-in module whose AutoConfig and
AutoTokenizer raise makes the converter take its own fallback (config.json read as JSON), and the
vocabulary, which the converter reads through AutoTokenizer only, is written from tokenizer.json
with gguf-py (tokenizer.ggml.model gpt2, tokens, merges). Every model key and tensor is the
converter's. Exits 77 (skip) when LLAMA_CPP_DIR or torch is missing.
"""

import json
import sys
import types
from pathlib import Path


def main() -> int:
    llama_dir, hf_dir, out = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    if not (llama_dir / "convert_hf_to_gguf.py").is_file():
        print(f"skip: no {llama_dir}/convert_hf_to_gguf.py", file=sys.stderr)
        return 77
    try:
        import torch  # the converter's tensors
    except ImportError:
        print("skip: no torch", file=sys.stderr)
        return 77
    # torch < 2.1 has no float8 dtypes, which the converter names in its dtype tables; our f32
    # checkpoints hold none, so distinct placeholders stand in.
    for name in ("float8_e4m3fn", "float8_e5m2"):
        if not hasattr(torch, name):
            setattr(torch, name, f"absent {name}")

    stand_in = types.ModuleType("transformers")

    class _Unavailable:
        @staticmethod
        def from_pretrained(*args, **kwargs):
            raise OSError("transformers is not installed")

    stand_in.AutoConfig = stand_in.AutoTokenizer = _Unavailable
    sys.modules.setdefault("transformers", stand_in)
    # gguf-py's progress bar (tqdm is not installed either): a silent one.
    progress = types.ModuleType("tqdm")
    progress.tqdm = type("tqdm", (), {"__init__": lambda self, *a, **k: None,
                                      "update": lambda self, *a: None, "close": lambda self: None,
                                      "set_description": lambda self, *a: None, "reset": lambda self, **k: None})
    sys.modules.setdefault("tqdm", progress)
    sys.path[:0] = [str(llama_dir / "gguf-py"), str(llama_dir)]
    import gguf
    import convert_hf_to_gguf as convert
    from conversion.deepseek import DeepseekV2Model

    def set_vocab(self):
        tok = json.loads((self.dir_model / "tokenizer.json").read_text(encoding="utf-8"))
        vocab = dict(tok["model"]["vocab"])
        for added in tok.get("added_tokens", []):
            vocab[added["content"]] = added["id"]
        special = {a["id"] for a in tok.get("added_tokens", []) if a.get("special")}
        by_id = {i: t for t, i in vocab.items()}
        n = self.hparams["vocab_size"]
        tokens = [by_id.get(i, f"[PAD{i}]") for i in range(n)]
        types_ = [gguf.TokenType.CONTROL if i in special else
                  gguf.TokenType.NORMAL if i in by_id else gguf.TokenType.UNUSED for i in range(n)]
        merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"].get("merges", [])]
        self.gguf_writer.add_tokenizer_model("gpt2")
        # The converter names the pre-tokenizer by hashing AutoTokenizer's output; the presets'
        # tokenizer.json splits with Qwen2's regex, which llama.cpp calls "qwen2".
        self.gguf_writer.add_tokenizer_pre("qwen2")
        self.gguf_writer.add_token_list(tokens)
        self.gguf_writer.add_token_types(types_)
        self.gguf_writer.add_token_merges(merges)
        gguf.SpecialVocab(self.dir_model, load_merges=False).add_to_gguf(self.gguf_writer)

    DeepseekV2Model.set_vocab = set_vocab
    sys.argv = ["convert_hf_to_gguf.py", str(hf_dir), "--outfile", out, "--outtype", "f32"]
    convert.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())

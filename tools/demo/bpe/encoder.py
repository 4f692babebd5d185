"""A reference encoder for a tokenizer.json this package wrote: DeepSeek-V3 pre-tokenisation, then
GPT-2's rank-ordered BPE per piece. It exists to check the engine's ids against an independent
implementation (tools/demo/check_tokenizer.py); added tokens in the text are not handled.
"""
import json

from .pretokenize import byte_level, pre_tokenize

NO_RANK = 1 << 62


class Encoder:
    def __init__(self, tokenizer_json_path):
        with open(tokenizer_json_path, encoding='utf-8') as f:
            model = json.load(f)['model']
        self.vocab = model['vocab']
        self.ranks = {tuple(m.split(' ')): r for r, m in enumerate(model['merges'])}
        self.cache = {}

    def _bpe(self, word):
        parts = list(word)
        while len(parts) > 1:
            ranked = [(self.ranks.get(p, NO_RANK), i) for i, p in enumerate(zip(parts, parts[1:]))]
            rank, i_min = min(ranked)
            if rank == NO_RANK:
                break
            a, b = parts[i_min], parts[i_min + 1]
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
                    merged.append(a + b)
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        return [self.vocab[p] for p in parts]

    def encode(self, text):
        ids = []
        for piece in pre_tokenize(text):
            word = byte_level(piece)
            got = self.cache.get(word)
            if got is None:
                got = self.cache[word] = self._bpe(word)
            ids.extend(got)
        return ids


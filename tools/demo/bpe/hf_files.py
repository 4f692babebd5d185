"""The trained BPE as Hugging Face tokenizer files (tokenizer.json, tokenizer_config.json).

Ids: the added tokens first (0..9), then the 256 byte tokens in byte order (10 + byte), then one
id per token the merges made, in merge order.
"""
import json
import os
import tempfile
from pathlib import Path

from .pretokenize import BYTE_TO_CHAR, DEEPSEEK_V3_PRE_TOKENIZER

BOS = '<｜begin▁of▁sentence｜>'
EOS = '<｜end▁of▁sentence｜>'
PAD = '<｜▁pad▁｜>'

# (content, special). The first six are resources/demo/tokenizer.json's, the rest DeepSeek-V3's
# FIM tokens (non-special there too, so decode keeps them) and its padding token.
ADDED_TOKENS = [
    (BOS, True), (EOS, True), ('<｜User｜>', True), ('<｜Assistant｜>', True), ('<think>', True), ('</think>', True),
    ('<｜fim▁hole｜>', False), ('<｜fim▁begin｜>', False), ('<｜fim▁end｜>', False), (PAD, True),
]


def _added_token(i, content, special):
    # DeepSeek-V3 marks its non-special added tokens "normalized": true; with no normalizer that
    # changes nothing but is kept for fidelity.
    return {'id': i, 'content': content, 'single_word': False, 'lstrip': False, 'rstrip': False,
            'normalized': not special, 'special': special}


def _bos_template():
    """TemplateProcessing "<bos> $A": encode(add_special_tokens) starts with BOS in the engine,
    in `tokenizers` and in every transformers version (transformers 5 rebuilds a class named
    LlamaTokenizerFast SentencePiece-style, so the class stays PreTrainedTokenizerFast)."""
    bos = {'SpecialToken': {'id': BOS, 'type_id': 0}}
    return {
        'type': 'TemplateProcessing',
        'single': [bos, {'Sequence': {'id': 'A', 'type_id': 0}}],
        'pair': [bos, {'Sequence': {'id': 'A', 'type_id': 0}},
                 {'SpecialToken': {'id': BOS, 'type_id': 1}}, {'Sequence': {'id': 'B', 'type_id': 1}}],
        'special_tokens': {BOS: {'id': BOS, 'ids': [0], 'tokens': [BOS]}},
    }


def tokenizer_json(merges, tokens):
    """tokenizer.json as a dict. `tokens`: the trainer's tokens (256 bytes in byte order first)."""
    if [tokens[b] for b in range(256)] != [BYTE_TO_CHAR[b] for b in range(256)]:
        raise ValueError('the first 256 tokens must be the byte tokens in byte order')
    vocab = {content: i for i, (content, _) in enumerate(ADDED_TOKENS)}
    for t in tokens:
        vocab[t] = len(vocab)
    return {
        'version': '1.0',
        'truncation': None,
        'padding': None,
        'added_tokens': [_added_token(i, c, s) for i, (c, s) in enumerate(ADDED_TOKENS)],
        'normalizer': None,
        'pre_tokenizer': DEEPSEEK_V3_PRE_TOKENIZER,
        'post_processor': _bos_template(),
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
        'model': {
            'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
            'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
            'vocab': vocab,
            'merges': [f'{a} {b}' for a, b in merges],
        },
    }


def tokenizer_config_json(chat_template, model_max_length):
    return {
        'tokenizer_class': 'PreTrainedTokenizerFast',
        'add_bos_token': True,
        'add_eos_token': False,
        'bos_token': BOS,
        'eos_token': EOS,
        'pad_token': PAD,
        'unk_token': None,
        'clean_up_tokenization_spaces': False,
        'model_max_length': model_max_length,
        'chat_template': chat_template,
    }


def write_json_atomic(path, obj, indent=None):
    """Writes obj as UTF-8 JSON to path through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + '.', suffix='.tmp', dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; these are ordinary repository files
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            json.dump(obj, f, ensure_ascii=False, indent=indent)
            f.write('\n')
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise

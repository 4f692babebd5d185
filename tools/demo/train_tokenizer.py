#!/usr/bin/env python3
"""Train the demo model's byte-level BPE tokenizer (issue #12) on a balanced sample of the corpora.

    tools/demo/train_tokenizer.py [--corpora DIR] [--out DIR] [--vocab-size N] [--bytes-per-domain N]

Reads DIR/<domain>/*.txt as tools/demo/build_corpora.sh wrote them (default .device-carry/corpora),
checks every file against the pinned sha256 in resources/corpora/training/manifest.json, takes
--bytes-per-domain bytes from each of the five domains (tools/demo/bpe/sample.py says how),
pre-tokenises them as DeepSeek-V3 does, learns merges until the vocabulary (added tokens + 256
bytes + merged tokens) has --vocab-size entries, and writes --out/tokenizer.json,
tokenizer_config.json (DeepSeek-V3's chat template, from --chat-template-from) and training.json
(the sample). Python 3 standard library only; the same inputs give the same bytes.
stdout: a JSON summary; progress goes to stderr.
"""
import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

from bpe.hf_files import ADDED_TOKENS, tokenizer_config_json, tokenizer_json, write_json_atomic  # noqa: E402
from bpe.sample import SampleError, domain_sample  # noqa: E402
from bpe.trainer import count_words, train  # noqa: E402

DOMAINS = ['code', 'english', 'math', 'chinese', 'dialogue']


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--corpora', type=Path, default=REPO / '.device-carry/corpora')
    p.add_argument('--manifest', type=Path, default=REPO / 'resources/corpora/training/manifest.json',
                   help='the pinned corpus manifest every file must match (sha256)')
    p.add_argument('--out', type=Path, default=REPO / 'resources/demo-trained')
    p.add_argument('--vocab-size', type=int, default=4096)
    p.add_argument('--bytes-per-domain', type=int, default=2_000_000)
    p.add_argument('--chat-template-from', type=Path,
                   default=REPO.parent / 'shared/tokenizers/deepseek-v3/tokenizer_config.json')
    p.add_argument('--model-max-length', type=int, default=4096)
    return p.parse_args()


def fail(msg):
    print(f'train_tokenizer: error: {msg}', file=sys.stderr)
    sys.exit(1)


def pinned_sha256(manifest_path):
    try:
        manifest = json.loads(manifest_path.read_text(encoding='utf-8'))
        return {f['file']: f['sha256'] for d in manifest['domains'].values() for f in d['files']}
    except (OSError, ValueError, KeyError, TypeError) as e:
        fail(f'{manifest_path}: cannot read the corpus manifest ({e})')


def check_pinned(sample, corpora, pins, manifest_path):
    for fs in sample:
        rel = fs.path.relative_to(corpora).as_posix()
        if rel not in pins:
            fail(f'{fs.path}: not listed in {manifest_path}')
        got = hashlib.sha256(fs.path.read_bytes()).hexdigest()
        if got != pins[rel]:
            fail(f'{fs.path}: sha256 {got} differs from {manifest_path} ({pins[rel]}); rebuild the corpora '
                 f'with tools/demo/build_corpora.sh')


def chat_template(path):
    try:
        return json.loads(path.read_text(encoding='utf-8'))['chat_template']
    except (OSError, ValueError, KeyError) as e:
        fail(f'{path}: cannot read chat_template ({e})')


def take_sample(args):
    pins = pinned_sha256(args.manifest)
    samples = {}
    for domain in DOMAINS:
        try:
            samples[domain] = domain_sample(args.corpora / domain, args.bytes_per_domain)
        except (OSError, SampleError) as e:
            fail(str(e))
        check_pinned(samples[domain], args.corpora, pins, args.manifest)
    return samples


def sample_record(samples, args):
    return {
        'built_by': 'tools/demo/train_tokenizer.py',
        'vocab_size': args.vocab_size,
        'bytes_per_domain': args.bytes_per_domain,
        'pre_tokenizer': 'DeepSeek-V3 (tools/demo/bpe/pretokenize.py)',
        'domains': {d: {'bytes': sum(f.taken_bytes for f in fs),
                        'files': [{'file': f.path.relative_to(args.corpora).as_posix(), 'file_bytes': f.file_bytes,
                                   'taken_bytes': f.taken_bytes} for f in fs]}
                    for d, fs in samples.items()},
    }


def main():
    args = parse_args()
    n_bpe = args.vocab_size - len(ADDED_TOKENS)
    if n_bpe < 256:
        fail(f'--vocab-size {args.vocab_size} leaves no room for the 256 byte tokens and {len(ADDED_TOKENS)} added tokens')
    template = chat_template(args.chat_template_from)
    t0 = time.monotonic()
    samples = take_sample(args)
    words = count_words(f.text for fs in samples.values() for f in fs)
    print(f'train_tokenizer: {len(words)} distinct pieces, {sum(words.values())} in all '
          f'({time.monotonic() - t0:.1f} s)', file=sys.stderr)
    merges, tokens = train(words, n_bpe, progress=lambda n, total: print(
        f'train_tokenizer: {n}/{total} tokens ({time.monotonic() - t0:.1f} s)', file=sys.stderr))
    if len(tokens) < n_bpe:
        fail(f'the sample only supports {len(tokens)} BPE tokens (no pair occurs twice any more), not {n_bpe}')
    write_json_atomic(args.out / 'tokenizer.json', tokenizer_json(merges, tokens), indent=2)
    write_json_atomic(args.out / 'tokenizer_config.json', tokenizer_config_json(template, args.model_max_length), indent=2)
    record = sample_record(samples, args)
    write_json_atomic(args.out / 'training.json', record, indent=1)
    summary = {'out': str(args.out), 'vocab_size': len(ADDED_TOKENS) + len(tokens), 'merges': len(merges),
               'seconds': round(time.monotonic() - t0, 1),
               'sample_bytes': {d: r['bytes'] for d, r in record['domains'].items()}}
    print(json.dumps(summary))


if __name__ == '__main__':
    main()

#!/usr/bin/env python3
"""Check the trained demo tokenizer with the engine and measure its bytes per token.

    tools/demo/check_tokenizer.py [--tokenizer DIR] [--engine BIN] [--corpora DIR] [--compare DIR ...]

For every corpus file (DIR/<domain>/*.txt) and a set of edge-case strings it runs
`moe-engine tokenize --pieces` and checks that
  * the pieces, mapped back to bytes, give the input exactly (decode(encode(x)) == x), and
  * the ids equal those of an independent Python encoder (tools/demo/bpe/encoder.py: the
    trainer's pre-tokeniser and GPT-2's rank-ordered BPE), i.e. the engine cuts text as the
    trainer did.
Then it prints, as JSON on stdout, the bytes per token of every domain for this tokenizer and for
each --compare tokenizer (counts only). Exit status 1 when any check fails.
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))

from bpe.encoder import Encoder  # noqa: E402
from bpe.pretokenize import from_byte_level  # noqa: E402

DOMAINS = ['code', 'english', 'math', 'chinese', 'dialogue']
EDGE_CASES = [
    'int main(void) {\n\tfor (int i = 0; i < 10; ++i)\n\t\tputs("hi\\t\\n");\r\n}\n',
    '    def f(self, x):\n        return x ** 2  # 平方\n\n\n',
    '中文标点：“引号”、『括号』……破折号——结束。全角ＡＢＣ１２３',
    'カタカナ・ひらがなー、한국어 텍스트, Ελληνικά, русский текст, עברית',
    'emoji 🙂🚀 and combining e\u0301 a\u0308, NBSP\u00a0here, ideographic\u3000space',
    'numbers 1234567890 3.14159 -42 1e-9 0x7fff ½ ² ٣٤٥',
    '  leading and trailing spaces   \n\n\t\t\n',
    '$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$ and ∑_{i=1}^{n} i = n(n+1)/2',
    'Q: How do I exit vim?\nA: Type :wq and press Enter.\n',
    '',
]


def engine_tokenize(engine, tokenizer, *, text=None, file=None):
    cmd = [str(engine), 'tokenize', '--tokenizer', str(tokenizer), '--pieces']
    cmd += ['--text', text] if file is None else ['--file', str(file)]
    out = subprocess.run(cmd, capture_output=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f'{" ".join(cmd[:5])}: exit {out.returncode}: {out.stderr.decode(errors="replace")}')
    return json.loads(out.stdout)


def check_one(engine, tokenizer, encoder, data, label, *, text=None, file=None):
    """Problems (strings) found encoding `data` (the input's bytes) with the engine; [] when none."""
    doc = engine_tokenize(engine, tokenizer, text=text, file=file)
    problems = []
    decoded = b''.join(from_byte_level(p) for p in doc['pieces'])
    if decoded != data:
        at = next((i for i, (x, y) in enumerate(zip(decoded, data)) if x != y), min(len(decoded), len(data)))
        problems.append(f'{label}: decode(encode(x)) != x (first difference at byte {at})')
    ref = encoder.encode(data.decode('utf-8'))
    if ref != doc['ids']:
        at = next((i for i, (x, y) in enumerate(zip(ref, doc['ids'])) if x != y), min(len(ref), len(doc['ids'])))
        problems.append(f'{label}: engine ids differ from the Python encoder at token {at}')
    return doc['count'], problems


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--tokenizer', type=Path, default=REPO / 'resources/demo-trained')
    p.add_argument('--engine', type=Path, default=REPO / 'build/bin/moe-engine')
    p.add_argument('--corpora', type=Path, default=REPO / '.device-carry/corpora')
    p.add_argument('--compare', type=Path, nargs='*', default=[],
                   help='other tokenizers whose bytes per token to report beside this one')
    return p.parse_args()


def main():
    args = parse_args()
    encoder = Encoder(args.tokenizer / 'tokenizer.json')
    problems, report = [], {'tokenizer': str(args.tokenizer), 'bytes_per_token': {}, 'compare': {}}
    for i, s in enumerate(EDGE_CASES):
        _, bad = check_one(args.engine, args.tokenizer, encoder, s.encode(), f'edge case {i}', text=s)
        problems += bad
    for domain in DOMAINS:
        files = sorted((args.corpora / domain).glob('*.txt'))
        size = tokens = 0
        for f in files:
            data = f.read_bytes()
            n, bad = check_one(args.engine, args.tokenizer, encoder, data, str(f), file=f)
            problems += bad
            size, tokens = size + len(data), tokens + n
            print(f'check_tokenizer: {f}: {len(data) / max(n, 1):.3f} bytes/token', file=sys.stderr)
        report['bytes_per_token'][domain] = {'bytes': size, 'tokens': tokens, 'bytes_per_token': round(size / tokens, 3)}
        for other in args.compare:
            n = sum(engine_tokenize(args.engine, other, file=f)['count'] for f in files)
            report['compare'].setdefault(str(other), {})[domain] = round(size / n, 3)
    report['problems'] = problems
    print(json.dumps(report, indent=1, ensure_ascii=False))
    sys.exit(1 if problems else 0)


if __name__ == '__main__':
    main()

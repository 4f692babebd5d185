"""Tests of the tokenizer trainer: python3 -m unittest bpe.test_bpe (from tools/demo)."""
import unittest
from collections import Counter

from . import pretokenize, sample, trainer
from .encoder import Encoder
from .hf_files import ADDED_TOKENS, tokenizer_json, write_json_atomic


class PreTokenizeTest(unittest.TestCase):
    def test_pieces_follow_deepseek_v3(self):
        cases = {
            'Hello world': ['Hello', ' world'],
            '1234567': ['123', '456', '7'],
            '在 Debian 这种规模的项目中，很难': ['在', ' Debian', ' ', '这种规模的项目中', '，', '很难'],
            '\tif (x) {\n\t\treturn 1;\n': ['\tif', ' (', 'x', ')', ' {\n', '\t', '\treturn', ' ', '1', ';\n'],
            'foo  bar\n\n  baz': ['foo', ' ', ' bar', '\n\n', ' ', ' baz'],
            "don't .ext": ['don', "'t", ' .', 'ext'],
            'カタカナ・ひらがな': ['カタカナ', '・', 'ひらがな'],
            'e\u0301!': ['e\u0301', '!'],
        }
        for text, pieces in cases.items():
            self.assertEqual(pretokenize.pre_tokenize(text), pieces, text)

    def test_pieces_cover_the_text(self):
        text = 'x\x00y \x1c\u00a0z\r\n\r\n 12a\u3000b 🙂'
        self.assertEqual(''.join(pretokenize.pre_tokenize(text)), text)

    def test_byte_level_is_reversible(self):
        s = 'a b\n中\x00\xff'
        self.assertEqual(pretokenize.from_byte_level(pretokenize.byte_level(s)), s.encode())
        self.assertEqual(pretokenize.byte_level(' \n'), 'ĠĊ')


class SampleTest(unittest.TestCase):
    def test_shares_water_fill(self):
        self.assertEqual(sample.shares([10, 100, 100], 90), [10, 40, 40])
        self.assertEqual(sample.shares([5, 5], 20), [5, 5])

    def test_windows_give_the_share_in_whole_pieces(self):
        data = ''.join(f'line {i} ' + '中文' * (i % 7) + '\n' for i in range(20000)).encode()
        got = sample.windows(data, 50000)
        self.assertEqual(len(got), 50000)
        got.decode('utf-8')  # cut on character boundaries
        self.assertEqual(sample.windows(data, len(data) + 1), data)


class TrainerTest(unittest.TestCase):
    def test_most_frequent_pair_first_and_ties_by_string(self):
        words = Counter({'abab': 3, 'ab': 1, 'cd': 4})
        merges, tokens = trainer.train(words, 258, min_count=1)
        # a b: 7, c d: 4, b a: 3 -> "a b" then "c d".
        self.assertEqual(merges, [('a', 'b'), ('c', 'd')])
        self.assertEqual(tokens[256:], ['ab', 'cd'])
        merges, _ = trainer.train(Counter({'xy': 2, 'pq': 2}), 257, min_count=1)
        self.assertEqual(merges, [('p', 'q')])

    def test_counts_stay_exact_through_overlapping_merges(self):
        merges, tokens = trainer.train(Counter({'aaaa': 5, 'aaa': 1}), 259, min_count=1)
        self.assertEqual(merges, [('a', 'a'), ('aa', 'aa'), ('aa', 'a')])
        self.assertEqual(tokens[256:], ['aa', 'aaaa', 'aaa'])

    def test_stops_when_no_pair_is_frequent_enough(self):
        merges, _ = trainer.train(Counter({'ab': 1}), 300)
        self.assertEqual(merges, [])

    def test_encoder_reproduces_training_segmentation(self):
        import tempfile
        from pathlib import Path
        text = 'the cat sat on the mat; the hat. 中文中文 12345\n' * 20
        words = trainer.count_words([text])
        merges, tokens = trainer.train(words, 300)
        with tempfile.TemporaryDirectory() as d:
            path = Path(d) / 'tokenizer.json'
            write_json_atomic(path, tokenizer_json(merges, tokens))
            enc = Encoder(path)
            ids = enc.encode('the cat')
            self.assertEqual(len(ids), 2)  # "the", " cat": both frequent enough to merge whole
            self.assertTrue(all(i >= len(ADDED_TOKENS) for i in ids))
            inv = {v: k for k, v in enc.vocab.items()}
            self.assertEqual(b''.join(pretokenize.from_byte_level(inv[i]) for i in enc.encode(text)), text.encode())


if __name__ == '__main__':
    unittest.main()

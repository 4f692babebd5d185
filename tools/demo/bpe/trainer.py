"""Byte-level BPE training over pre-tokenised words (as Hugging Face's BpeTrainer does).

Words are the distinct ByteLevel pieces with their counts. Each step merges the most frequent
adjacent pair (ties: the pair whose (left, right) strings sort first), then updates the pair
counts of only the words that held that pair: an index pair -> words keeps that set small, and
a max-heap with lazy deletion (an entry whose count is out of date is skipped) finds the next
pair without recounting. Everything is deterministic: no set or dict order reaches the result.
"""
import heapq
from collections import Counter, defaultdict

from .pretokenize import BYTE_TO_CHAR, byte_level, pre_tokenize


def count_words(texts):
    """Counter of the ByteLevel pieces of every text in `texts`."""
    raw = Counter()
    for text in texts:
        raw.update(pre_tokenize(text))
    words = Counter()
    for piece, n in raw.items():
        words[byte_level(piece)] += n
    return words


def _pairs(word):
    return zip(word, word[1:])


def _merge_word(word, a, b, c):
    """`word` (a list of ids) with every non-overlapping a,b (left to right) replaced by c."""
    out, i, n = [], 0, len(word)
    while i < n:
        if i + 1 < n and word[i] == a and word[i + 1] == b:
            out.append(c)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out


class _State:
    def __init__(self, word_counts):
        self.tokens = [BYTE_TO_CHAR[b] for b in range(256)]     # id -> ByteLevel string
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        items = sorted(word_counts.items())                     # fixed order: determinism
        self.words = [[self.ids[ch] for ch in w] for w, _ in items if len(w) > 1]
        self.counts = [n for w, n in items if len(w) > 1]
        self.pair_counts = Counter()
        self.where = defaultdict(set)
        for w, (word, n) in enumerate(zip(self.words, self.counts)):
            for p in _pairs(word):
                self.pair_counts[p] += n
                self.where[p].add(w)
        self.heap = [(-n, self.tokens[p[0]], self.tokens[p[1]], p) for p, n in self.pair_counts.items()]
        heapq.heapify(self.heap)

    def _push(self, pair, count):
        heapq.heappush(self.heap, (-count, self.tokens[pair[0]], self.tokens[pair[1]], pair))

    def best_pair(self):
        """The most frequent pair with its count, or None when no pair is left."""
        while self.heap:
            neg, _, _, pair = self.heap[0]
            if self.pair_counts.get(pair, 0) == -neg:
                return pair, -neg
            heapq.heappop(self.heap)  # stale: the count changed and a fresh entry was pushed
        return None

    def merge(self, pair):
        """Merges `pair` everywhere; returns the id of the merged token (reused if it exists)."""
        a, b = pair
        text = self.tokens[a] + self.tokens[b]
        c = self.ids.get(text)
        if c is None:
            c = len(self.tokens)
            self.tokens.append(text)
            self.ids[text] = c
        delta = Counter()
        for w in sorted(self.where.pop(pair, ())):
            old = self.words[w]
            new = _merge_word(old, a, b, c)
            if len(new) == len(old):
                continue  # the word no longer holds the pair (an out-of-date index entry)
            n = self.counts[w]
            for p in _pairs(old):
                delta[p] -= n
            for p in _pairs(new):
                delta[p] += n
                if p != pair:
                    self.where[p].add(w)
            self.words[w] = new
        for p in sorted(delta):
            if delta[p]:
                self.pair_counts[p] += delta[p]
                if self.pair_counts[p] > 0:
                    self._push(p, self.pair_counts[p])
                else:
                    del self.pair_counts[p]
        return c


def train(word_counts, vocab_size, min_count=2, progress=None):
    """Merges (list of (left, right) ByteLevel strings) that grow the 256 byte tokens to
    `vocab_size` distinct tokens, and those tokens in id order.

    A merge whose result already exists (the same bytes reached by another path) adds a merge but
    no token, as in Hugging Face's trainer. Stops early when no pair occurs min_count times.
    `progress(done, total)` is called every 256 merges when given.
    """
    if vocab_size < 256:
        raise ValueError(f'vocab_size {vocab_size} is smaller than the 256 byte tokens')
    st = _State(word_counts)
    merges = []
    while len(st.tokens) < vocab_size:
        best = st.best_pair()
        if best is None or best[1] < min_count:
            break
        pair, _ = best
        merges.append((st.tokens[pair[0]], st.tokens[pair[1]]))
        st.merge(pair)
        if progress and len(merges) % 256 == 0:
            progress(len(st.tokens), vocab_size)
    return merges, list(st.tokens)

"""The balanced training sample: the same number of bytes from every domain, chosen deterministically.

Within a domain the budget is shared equally among its files (a file smaller than its share gives
all of itself and the rest goes to the others), and each file's share is taken as evenly spaced
windows cut after a newline where one is near, so a sample sees the whole of a file rather than
its first pages.
"""
from dataclasses import dataclass
from pathlib import Path

WINDOW_BYTES = 16 * 1024
LINE_SLACK = 2048   # a window edge moves back at most this far to fall on a line end
WORD_SLACK = 256    # else at most this far to fall after a space; else onto a character start


class SampleError(Exception):
    pass


@dataclass
class FileSample:
    path: Path          # the corpus file
    file_bytes: int     # its size
    text: str           # what was taken from it
    taken_bytes: int    # len(text) in UTF-8 bytes


def shares(sizes, budget):
    """Water-filling: equal shares of `budget` over files of `sizes`, capped at each file's size."""
    left, out = budget, [0] * len(sizes)
    order = sorted(range(len(sizes)), key=lambda i: (sizes[i], i))
    for rank, i in enumerate(order):
        out[i] = min(sizes[i], left // (len(sizes) - rank))
        left -= out[i]
    return out


def boundary(data, pos):
    """A cut point at or before pos: after a newline if one is near, else after a space, else a
    UTF-8 character start (so every window decodes and few words are cut in two)."""
    if pos <= 0 or pos >= len(data):
        return max(0, min(pos, len(data)))
    nl = data.rfind(b'\n', max(0, pos - LINE_SLACK), pos)
    if nl >= 0:
        return nl + 1
    sp = data.rfind(b' ', max(0, pos - WORD_SLACK), pos)
    if sp >= 0:
        return sp + 1
    while pos > 0 and (data[pos] & 0xC0) == 0x80:
        pos -= 1
    return pos


def windows(data, share):
    """About `share` bytes from `data` in evenly spaced windows that do not overlap.

    A window that falls short of its size (its edges moved to line ends) passes the shortfall to
    the next one; the last ends on the character boundary that makes the total `share`, unless
    the end of the file comes first.
    """
    if share >= len(data):
        return data
    count = max(1, -(-share // WINDOW_BYTES))
    starts = [boundary(data, len(data) * k // count) for k in range(count)] + [len(data)]
    out, got = [], 0
    for k in range(count):
        target = min(starts[k + 1], starts[k] + share * (k + 1) // count - got)
        end = _char_end(data, target) if k == count - 1 else boundary(data, target)
        if end > starts[k]:
            out.append(data[starts[k]:end])
            got += end - starts[k]
    return b''.join(out)


def _char_end(data, pos):
    """The character start at or before pos (the exact end of the last window)."""
    pos = min(pos, len(data))
    while 0 < pos < len(data) and (data[pos] & 0xC0) == 0x80:
        pos -= 1
    return pos


def domain_sample(domain_dir, budget):
    """FileSamples of every *.txt in domain_dir (sorted by name), `budget` bytes in all at most."""
    paths = sorted(Path(domain_dir).glob('*.txt'))
    if not paths:
        raise SampleError(f'{domain_dir}: no *.txt corpus files (run tools/demo/build_corpora.sh)')
    datas = [p.read_bytes() for p in paths]
    total = sum(len(d) for d in datas)
    if total < budget:
        raise SampleError(f'{domain_dir}: only {total} bytes of text, fewer than the {budget} asked for')
    out = []
    for path, data, share in zip(paths, datas, shares([len(d) for d in datas], budget)):
        taken = windows(data, share)
        try:
            text = taken.decode('utf-8')
        except UnicodeDecodeError as e:
            raise SampleError(f'{path}: not valid UTF-8 near byte {e.start} of the sampled text') from e
        out.append(FileSample(path, len(data), text, len(taken)))
    return out

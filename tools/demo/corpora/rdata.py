"""Read character vectors from an R package's lazy-load data base (data/Rdata.rdx + .rdb).

R packages such as r-cran-janeaustenr ship their data sets in R's own serialisation format,
not as text; this reads that format with the standard library alone (no R needed). It
implements the subset of R's XDR serialisation (format versions 2 and 3) that data sets use:
vectors, pairlists, symbols, attributes and references, and fails clearly on anything else.
"""
import gzip
import struct
import zlib

NILVALUE, REF, GLOBALENV, UNBOUND, MISSING, BASENS, EMPTYENV, BASEENV = 254, 255, 253, 252, 251, 250, 242, 241
NIL, SYM, LIST, CLO, ENV, PROM, LANG, CHAR, LGL, INT, REAL, CPLX, STR, VEC, EXPR, RAW, S4 = (
    0, 1, 2, 3, 4, 5, 6, 9, 10, 13, 14, 15, 16, 19, 20, 24, 25)
PAIRLIKE = {LIST, CLO, PROM, LANG, 17}  # 17 = DOTSXP


class RDataError(ValueError):
    pass


class _Reader:
    def __init__(self, data, where):
        self.data, self.pos, self.where, self.refs = data, 0, where, []

    def int(self):
        (v,) = struct.unpack_from('>i', self.data, self.pos)
        self.pos += 4
        return v

    def bytes(self, n):
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def header(self):
        if self.bytes(2) != b'X\n':
            raise RDataError(f'{self.where}: not XDR-serialised R data')
        version = self.int()
        self.int(), self.int()  # R version that wrote it, minimal R version to read it
        if version == 3:
            self.bytes(self.int())  # native encoding name
        elif version != 2:
            raise RDataError(f'{self.where}: serialisation format {version} is not supported')

    def length(self):
        n = self.int()
        if n == -1:
            hi, lo = self.int(), self.int()
            n = (hi << 32) + lo
        return n

    def item(self):
        flags = self.int()
        kind, has_attr, has_tag = flags & 0xFF, flags & (1 << 9), flags & (1 << 10)
        if kind in (NILVALUE, GLOBALENV, UNBOUND, MISSING, BASENS, EMPTYENV, BASEENV):
            return None
        if kind == REF:
            index = flags >> 8 or self.int()
            return self.refs[index - 1]
        if kind == SYM:
            name = self.item()
            self.refs.append(('sym', name))
            return ('sym', name)
        if kind == ENV:
            env = {}
            self.refs.append(env)
            self.int()  # locked
            self.item(), self.item(), self.item(), self.item()  # enclosure, frame, hash table, attributes
            return env
        if kind in PAIRLIKE:
            attr = self.item() if has_attr else None
            tag = self.item() if has_tag else None
            car = self.item()
            cdr = self.item()
            return ('pair', tag, car, cdr, attr)
        if kind == CHAR:
            n = self.int()
            return None if n == -1 else self.bytes(n).decode('utf-8', errors='replace')
        if kind in (LGL, INT):
            n = self.length()
            value = list(struct.unpack_from(f'>{n}i', self.data, self.pos))
            self.pos += 4 * n
        elif kind == REAL:
            n = self.length()
            value = list(struct.unpack_from(f'>{n}d', self.data, self.pos))
            self.pos += 8 * n
        elif kind == CPLX:
            self.pos += 16 * self.length()
            value = None
        elif kind == RAW:
            value = self.bytes(self.length())
        elif kind in (STR, VEC, EXPR):
            value = [self.item() for _ in range(self.length())]
        else:
            raise RDataError(f'{self.where}: R object type {kind} is not supported at byte {self.pos}')
        attr = self.item() if has_attr else None
        return ('vector', kind, value, attr)


def _unserialize(raw, where):
    r = _Reader(raw, where)
    r.header()
    return r.item()


def _pairlist_to_dict(node):
    out = {}
    while node and node[0] == 'pair':
        _, tag, car, cdr, _ = node
        out[tag[1] if tag else None] = car
        node = cdr
    return out


def _names(attr):
    names = _pairlist_to_dict(attr).get('names')
    return names[2] if names else None


def read_lazyload_db(base):
    """{name: R object} for every variable in base + '.rdx' / base + '.rdb'."""
    with gzip.open(base + '.rdx') as f:
        index = _unserialize(f.read(), base + '.rdx')
    fields = dict(zip(_names(index[3]), index[2]))
    variables = fields['variables']
    with open(base + '.rdb', 'rb') as f:
        db = f.read()
    out = {}
    for name, loc in zip(_names(variables[3]), variables[2]):
        offset, length = loc[2]
        blob = db[offset:offset + length]
        (size,) = struct.unpack_from('>I', blob, 0)
        raw = zlib.decompress(blob[4:])
        if len(raw) != size:
            raise RDataError(f'{base}.rdb: {name}: {len(raw)} bytes after inflating, expected {size}')
        out[name] = _unserialize(raw, f'{base}.rdb:{name}')
    return out


def character_vectors(base):
    """{name: [str, ...]} for the variables of a lazy-load data base that are character vectors."""
    return {name: obj[2] for name, obj in read_lazyload_db(base).items()
            if obj and obj[0] == 'vector' and obj[1] == STR}

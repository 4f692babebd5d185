"""Build the training corpora from extracted Debian packages (see tools/demo/build_corpora.sh).

    python3 -m corpora.build --packages                      # "package=version" lines to download
    python3 -m corpora.build --root DIR --debs TSV --out DIR  # clean, select, write, manifest

--root holds one extracted tree per package (DIR/<package>/usr/...); --debs is a TSV of
package, version, .deb path written by the shell script. The output is DIR/<domain>/*.txt,
DIR/manifest.json and DIR/provenance/*.files (every file taken). Everything is deterministic:
file lists are sorted, nothing depends on time, locale or hash seeds.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import sys
from pathlib import Path

from .sources import DOMAINS, SOURCES, packages
from .textutil import normalise, paragraphs


class BuildError(Exception):
    pass


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def matching_files(src, pkg_root):
    """The files of the package that src's globs name, minus its excludes, sorted by path."""
    found = set()
    for pattern in src.globs:
        hits = [p for p in pkg_root.glob(pattern) if p.is_file() or p.is_symlink()]
        if not hits:
            raise BuildError(f'{src.package} {src.version}: no file matches {pattern!r} under {pkg_root}')
        found.update(hits)
    excludes = [re.compile(x) for x in src.exclude]
    kept = [p for p in found if not any(x.search('/' + str(p.relative_to(pkg_root))) for x in excludes)]
    return sorted(kept, key=lambda p: str(p.relative_to(pkg_root)))


def cut_to(text, limit):
    """The longest run of whole paragraphs from the start of text that fits in limit bytes."""
    out, size = [], 0
    for para in paragraphs(text):
        b = len(para.encode()) + 2
        if size + b > limit:
            break
        out.append(para)
        size += b
    return '\n\n'.join(out) + '\n' if out else ''


def select(src, docs):
    """Whole documents in order until the budget is spent. Code skips a file that no longer
    fits and tries the next; prose cuts the first document that does not fit at a paragraph
    boundary and stops, so books are not shuffled."""
    taken, size = [], 0
    for rel, text in docs:
        text = normalise(text)
        if not text:
            continue
        b = len(text.encode()) + 1  # + the blank line between documents
        if size + b > src.budget:
            if src.domain == 'code':
                continue
            text = normalise(cut_to(text, src.budget - size - 1))
            if text:
                taken.append((rel, text))
            break
        taken.append((rel, text))
        size += b
    return taken


def extractor_name(fn):
    return getattr(fn, '__name__', None) or getattr(getattr(fn, 'func', None), '__name__', repr(fn))


def read_debs(tsv):
    debs = {}
    for line in Path(tsv).read_text().splitlines():
        if line.strip():
            pkg, version, path = line.split('\t')
            debs[pkg] = (version, Path(path))
    return debs


def copyright_info(pkg_root, package):
    path = pkg_root / 'usr/share/doc' / package / 'copyright'
    if path.is_file():
        return {'copyright_file': str(path.relative_to(pkg_root)), 'copyright_sha256': sha256_file(path)}
    doc = pkg_root / 'usr/share/doc' / package
    if doc.is_symlink():
        return {'copyright_file': f'usr/share/doc/{os.readlink(doc)}/copyright (the doc folder is a link to '
                                  f'{os.readlink(doc)}, a package this one depends on)'}
    return {'copyright_file': None}


def write_atomic(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + '.tmp')
    tmp.write_bytes(data)
    os.replace(tmp, path)


def build(root, debs_tsv, out):
    debs = read_debs(debs_tsv)
    outputs = {}  # (domain, output) -> [(source, taken docs)]
    for src in SOURCES:
        if src.package not in debs:
            raise BuildError(f'{debs_tsv}: no .deb listed for {src.package}')
        pkg_root = root / src.package
        docs = src.extract(matching_files(src, pkg_root), pkg_root)
        taken = select(src, docs)
        if not taken:
            raise BuildError(f'{src.package}: {extractor_name(src.extract)} produced no text from {src.globs}')
        outputs.setdefault((src.domain, src.output), []).append((src, taken))
        print(f'{src.domain}/{src.output}: {src.package}: {len(taken)} files, '
              f'{sum(len(t.encode()) + 1 for _, t in taken)} bytes', file=sys.stderr)

    staging = out.with_name(out.name + '.partial')
    if staging.exists():
        shutil.rmtree(staging)
    manifest = {'format': 1, 'built_by': 'tools/demo/build_corpora.sh', 'domains': {}}
    for domain in DOMAINS:
        files, domain_bytes = [], 0
        for (d, output), parts in outputs.items():
            if d != domain:
                continue
            body = '\n'.join(text for _, taken in parts for _, text in taken).encode()
            rel = f'{domain}/{output}.txt'
            write_atomic(staging / rel, body)
            sources = []
            for src, taken in parts:
                version, deb = debs[src.package]
                listing = ''.join(f'{len(t.encode()) + 1}\t{r}\n' for r, t in taken).encode()
                list_rel = f'provenance/{domain}-{output}-{src.package}.files'
                write_atomic(staging / list_rel, listing)
                entry = {
                    'package': src.package, 'version': version, 'licence': src.licence,
                    'deb': deb.name, 'deb_sha256': sha256_file(deb),
                    **copyright_info(root / src.package, src.package),
                    'extractor': extractor_name(src.extract), 'globs': list(src.globs),
                    'exclude': list(src.exclude), 'budget': src.budget,
                    'bytes': sum(len(t.encode()) + 1 for _, t in taken),
                    'files_taken': len(taken), 'files_list': list_rel, 'files_list_sha256': sha256_bytes(listing),
                }
                if version != src.version:
                    entry['pinned_version'] = src.version
                if len(taken) <= 20:
                    entry['files'] = [r for r, _ in taken]
                if src.note:
                    entry['note'] = src.note
                sources.append(entry)
            files.append({'file': rel, 'bytes': len(body), 'sha256': sha256_bytes(body), 'sources': sources})
            domain_bytes += len(body)
        manifest['domains'][domain] = {'bytes': domain_bytes, 'files': files}
    manifest['total_bytes'] = sum(d['bytes'] for d in manifest['domains'].values())
    write_atomic(staging / 'manifest.json', (json.dumps(manifest, indent=1, ensure_ascii=False) + '\n').encode())

    if out.exists():
        old = out.with_name(out.name + '.old')
        if old.exists():
            shutil.rmtree(old)
        os.replace(out, old)
        os.replace(staging, out)
        shutil.rmtree(old)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging, out)
    return manifest


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--packages', action='store_true', help='print package=version lines and exit')
    ap.add_argument('--root', type=Path, help='folder with one extracted tree per package')
    ap.add_argument('--debs', type=Path, help='TSV: package, version, .deb path')
    ap.add_argument('--out', type=Path, help='output folder (replaced whole)')
    args = ap.parse_args(argv)
    if args.packages:
        for pkg, version in packages().items():
            print(f'{pkg}={version}')
        return 0
    if not (args.root and args.debs and args.out):
        ap.error('--root, --debs and --out are required (or --packages)')
    try:
        manifest = build(args.root.resolve(), args.debs, args.out.resolve())
    except (BuildError, ValueError, OSError) as e:
        print(f'build_corpora: error: {e}', file=sys.stderr)
        return 1
    for domain, d in manifest['domains'].items():
        print(f'{domain}\t{d["bytes"]}')
    print(f'total\t{manifest["total_bytes"]}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

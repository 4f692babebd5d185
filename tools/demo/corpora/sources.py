"""What goes into the demo model's training corpora: one entry per (package, extractor).

Every package is a Debian 12 (bookworm) binary package, pinned to the version the corpora were
built from; `licence` is what the package's debian/copyright says for the files taken (the
copyright file itself is hashed into the manifest). Budgets are bytes of cleaned UTF-8 text.
"""
from collections import namedtuple

from . import extract_chinese as zh
from . import extract_code as code
from . import extract_dialogue as dialogue
from . import extract_math as math
from . import extract_prose as prose

Source = namedtuple('Source', 'domain output package version licence globs exclude extract budget note')


def source(domain, output, package, version, licence, globs, extract, budget, exclude=(), note=''):
    return Source(domain, output, package, version, licence, tuple(globs), tuple(exclude), extract, budget, note)


PG = ('public domain (Project Gutenberg eBook of a pre-1928 work; PG header, licence and '
      'producer credits removed)')
KB, MB = 1000, 1000 * 1000

# GAP reference manual chapters about mathematical objects: integers and number theory (14-18),
# matrices and lattices (24-25), magmas and groups (35, 39-50), rings, fields and vector spaces
# (55-62), Lie algebras (64), polynomials and field extensions (66-68), representations (69-75).
GAP_MATHS_CHAPTERS = [14, 15, 16, 17, 18, 24, 25, 35, *range(39, 51), *range(55, 63), 64, 66, 67, 68,
                      69, 70, 71, 72, 75]

WESNOTH_VERSION = '1:1.16.9-1'
# campaign package suffix -> campaign directory in data/campaigns
WESNOTH_CAMPAIGNS = {
    'trow': 'The_Rise_Of_Wesnoth', 'tsg': 'The_South_Guard', 'httt': 'Heir_To_The_Throne',
    'ttb': 'Two_Brothers', 'nr': 'Northern_Rebirth', 'ei': 'Eastern_Invasion',
    'sotbe': 'Son_Of_The_Black_Eye', 'did': 'Descent_Into_Darkness', 'dm': 'Delfadors_Memoirs',
    'dw': 'Dead_Water', 'l': 'Liberty', 'low': 'Legend_of_Wesmere', 'sof': 'Sceptre_of_Fire',
    'sota': 'Secrets_of_the_Ancients', 'thot': 'The_Hammer_of_Thursagan', 'utbs': 'Under_the_Burning_Suns',
}
WESNOTH_DATA = 'usr/share/games/wesnoth/1.16'


def _wesnoth_sources():
    out = []
    for suffix, campaign in WESNOTH_CAMPAIGNS.items():
        pkg = f'wesnoth-1.16-{suffix}'
        scenarios = f'{WESNOTH_DATA}/data/campaigns/{campaign}/scenarios/**/*.cfg'
        out.append(source('dialogue', 'wesnoth-campaigns', pkg, WESNOTH_VERSION, 'GPL-2+', [scenarios],
                          dialogue.wesnoth_scenes, 400 * KB))
        out.append(source('chinese', 'wesnoth-campaigns-zh', pkg, WESNOTH_VERSION, 'GPL-2+',
                          [scenarios, f'{WESNOTH_DATA}/locale/zh_CN/LC_MESSAGES/wesnoth-*.mo'],
                          zh.wesnoth_translated, 400 * KB,
                          note='zh_CN translation of the campaign story and dialogue, in scenario order'))
    return out


SOURCES = [
    # --- English prose -----------------------------------------------------------------------
    source('english', 'austen-novels', 'r-cran-janeaustenr', '1.0.0-1',
           'MIT (package); the six novels are public domain (Jane Austen, 1811-1817)',
           ['usr/lib/R/site-library/janeaustenr/data/Rdata.rdx'], prose.austen_novels, 4500 * KB),
    source('english', 'doyle-sherlock-holmes', 'golang-github-pierrec-lz4-dev', '2.5.2-2', PG,
           ['usr/share/gocode/src/github.com/pierrec/lz4/testdata/pg1661.txt'], prose.gutenberg_books, 700 * KB),
    source('english', 'twain-tom-sawyer', 'golang-github-klauspost-compress-dev', '1.15.12+ds1-3', PG,
           ['usr/share/gocode/src/github.com/klauspost/compress/testdata/Mark.Twain-Tom.Sawyer.txt'],
           prose.gutenberg_books, 500 * KB),
    source('english', 'newton-opticks', 'golang-1.19-src', '1.19.8-2', PG,
           ['usr/share/go-1.19/src/testdata/Isaac.Newton-Opticks.txt'], prose.gutenberg_books, 600 * KB),
    source('english', 'walleij-copyright-does-not-exist', 'cfi-en', '3.0-10.2', 'public domain (per debian/copyright)',
           ['usr/share/doc/cfi-en/html/preface.htm', 'usr/share/doc/cfi-en/html/ch*web.htm'],
           prose.html_book, 600 * KB),
    # --- Dialogue ------------------------------------------------------------------------------
    *[s for s in _wesnoth_sources() if s.domain == 'dialogue'],
    source('dialogue', 'freedroidrpg-dialogues', 'freedroidrpg-data', '1.0-1', 'GPL-2+',
           ['usr/share/freedroidrpg/data/storyline/*/dialogs/*.lua'], dialogue.freedroid_dialogues, 800 * KB),
    source('dialogue', 'endless-sky-conversations', 'endless-sky-data', '0.9.8-1.2', 'GPL-3+',
           ['usr/share/games/endless-sky/data/*.txt'], dialogue.endless_sky_conversations, 1500 * KB,
           note='mission conversations (interactive fiction); <first>/<last>/<ship> filled in as Alex/Morgan/Wanderer'),
    source('dialogue', 'faq-questions-and-answers', 'python3.11-doc', '3.11.2-6+deb12u9', 'PSF-2.0',
           ['usr/share/doc/python3.11/html/_sources/faq/*.rst.txt'], dialogue.rst_faq, 400 * KB,
           note='the Python FAQ as Q:/A: exchanges (chat-like question answering)'),
    source('dialogue', 'faq-questions-and-answers', 'sagemath-doc', '9.5-6', 'CC-BY-SA-3.0',
           ['usr/share/doc/sagemath/html/en/faq/_sources/*.rst.txt'], dialogue.rst_faq, 100 * KB,
           note='the Sage FAQ as Q:/A: exchanges'),
    # --- Chinese -------------------------------------------------------------------------------
    source('chinese', 'fortunes-zh', 'fortunes-zh', '2.98', 'GPL-3+ (classical texts themselves public domain)',
           ['usr/share/games/fortunes/chinese', 'usr/share/games/fortunes/tang300',
            'usr/share/games/fortunes/song100'], zh.fortunes, 2500 * KB,
           note='Tang poems, Song ci, classics and sayings'),
    source('chinese', 'libreoffice-help-zh', 'libreoffice-help-zh-cn', '4:7.4.7-1+deb12u14', 'MPL-2.0',
           ['usr/share/libreoffice/help/zh-CN/text/**/*.html'], zh.help_pages, 1800 * KB),
    source('chinese', 'debian-reference-zh', 'debian-reference-zh-cn', '2.100', 'GPL-2+',
           ['usr/share/debian-reference/debian-reference.zh-cn.txt.gz'], zh.plain_text_book, 600 * KB),
    *[s for s in _wesnoth_sources() if s.domain == 'chinese'],
    # --- Mathematics ---------------------------------------------------------------------------
    source('math', 'pari-gp-manual', 'pari-doc', '2.15.2-1', 'GPL-2+',
           ['usr/share/pari/doc/usersch*.tex', 'usr/share/pari/doc/tutorial*.tex'], math.tex_sources, 3000 * KB,
           note="PARI/GP user's guide and tutorials (number theory, algebra) in TeX"),
    source('math', 'sage-tutorials', 'sagemath-doc', '9.5-6', 'CC-BY-SA-3.0',
           ['usr/share/doc/sagemath/html/en/thematic_tutorials/_sources/**/*.rst.txt',
            'usr/share/doc/sagemath/html/en/prep/_sources/**/*.rst.txt',
            'usr/share/doc/sagemath/html/en/tutorial/_sources/**/*.rst.txt',
            'usr/share/doc/sagemath/html/en/constructions/_sources/**/*.rst.txt',
            'usr/share/doc/sagemath/html/en/a_tour_of_sage/_sources/**/*.rst.txt'],
           math.rst_sources, 2000 * KB, exclude=[r'/(cython_interface|profiling|sws2rst|toctree|index)\.rst\.txt$'],
           note='thematic tutorials, PREP undergraduate tutorials, tutorial, constructions (reST with LaTeX maths)'),
    source('math', 'gap-manuals', 'gap-online-help', '4.12.1-2', 'GPL-2+',
           ['usr/share/gap/doc/tut/chap*.txt', *[f'usr/share/gap/doc/ref/chap{n}.txt' for n in GAP_MATHS_CHAPTERS]],
           math.gap_manual, 1500 * KB, exclude=[r'/chap0\.txt$'],
           note='GAP tutorial, then the reference chapters on mathematics (numbers, groups, rings, fields, '
                'algebras, characters) rather than on the GAP system itself'),
    # --- Code ----------------------------------------------------------------------------------
    source('code', 'python', 'libpython3.11-stdlib', '3.11.2-6+deb12u9', 'PSF-2.0',
           ['usr/lib/python3.11/*.py', 'usr/lib/python3.11/*/*.py', 'usr/lib/python3.11/*/*/*.py'],
           code.source_files, 2500 * KB,
           exclude=[r'/(test|tests|idlelib|lib2to3|tkinter|turtledemo|ensurepip|pydoc_data|encodings|'
                    r'__phello__|config-[^/]*|site-packages|dist-packages)/']),
    source('code', 'go', 'golang-1.19-src', '1.19.8-2', 'BSD-3-Clause (Go)',
           ['usr/share/go-1.19/src/**/*.go'], code.source_files, 1500 * KB,
           exclude=[r'_test\.go$', r'/testdata/', r'/vendor/', r'/z[a-z0-9_]+\.go$']),
    source('code', 'c', 'libstb-dev', '0.0~git20220908.8b5f1f3+ds-1', 'MIT or public domain (stb)',
           ['usr/include/stb/*.h'], code.source_files, 1000 * KB),
    source('code', 'c', 'libxxhash-dev', '0.8.1-1', 'BSD-2-Clause',
           ['usr/include/xxhash.h'], lambda p, r: code.source_files(p, r, 300 * KB), 300 * KB),
    source('code', 'cpp', 'nlohmann-json3-dev', '3.11.2-2', 'MIT',
           ['usr/include/nlohmann/**/*.hpp'], code.source_files, 800 * KB, exclude=[r'/json\.hpp$']),
    source('code', 'cpp', 'libfmt-dev', '9.1.0+ds1-2', 'MIT',
           ['usr/include/fmt/*.h'], code.source_files, 500 * KB),
    *[source('code', 'rust', pkg, ver, 'MIT or Apache-2.0', [f'usr/share/cargo/registry/{crate}/src/**/*.rs'],
             code.source_files, budget, exclude=[r'/unicode_tables/', r'/gen/'])
      for pkg, ver, crate, budget in [
          ('librust-syn-dev', '1.0.107-1', 'syn-1.0.107', 500 * KB),
          ('librust-regex-syntax-dev', '0.6.27-1', 'regex-syntax-0.6.27', 400 * KB),
          ('librust-serde-dev', '1.0.152-2', 'serde-1.0.152', 300 * KB),
          ('librust-itertools-dev', '0.10.3-1', 'itertools-0.10.3', 250 * KB),
          ('librust-anyhow-dev', '1.0.69-1', 'anyhow-1.0.69', 100 * KB)]],
    source('code', 'javascript', 'node-acorn', '8.8.1+ds+~cs25.17.7-2', 'MIT',
           ['usr/share/nodejs/acorn/dist/acorn.js', 'usr/share/nodejs/acorn-walk/dist/walk.js',
            'usr/share/nodejs/acorn-loose/dist/acorn-loose.js', 'usr/share/nodejs/acorn-jsx/index.js'],
           lambda p, r: code.source_files(p, r, 250 * KB), 350 * KB),
    source('code', 'shell', 'bash-completion', '1:2.11-6', 'GPL-2+',
           ['usr/share/bash-completion/bash_completion', 'usr/share/bash-completion/completions/*'],
           code.source_files, 600 * KB),
]

DOMAINS = ['code', 'english', 'math', 'chinese', 'dialogue']


def packages():
    """{package: version} in first-use order."""
    out = {}
    for s in SOURCES:
        if out.setdefault(s.package, s.version) != s.version:
            raise ValueError(f'{s.package} is pinned to two versions: {out[s.package]} and {s.version}')
    return out

"""Opening and searching an index does not import the build path (start-up time of the shell), and
the build-side names ``cablesearch.index`` keeps copies of agree with the originals."""

from __future__ import annotations

import subprocess
import sys

from cablesearch import index
from cablesearch.build import BUILD_JSON, DEFAULT_INDEX
from cablesearch.buildworkers import INDEX_NAME, whoosh_storage
from cablesearch.ledger import SKIPPED_TSV, fields_fingerprint


def test_the_copies_of_build_names_agree_with_the_build():
    assert (index.DEFAULT_INDEX, index.BUILD_JSON, index.SKIPPED_TSV, index.INDEX_NAME) == (
        DEFAULT_INDEX, BUILD_JSON, SKIPPED_TSV, INDEX_NAME)
    assert index.fields_fingerprint() == fields_fingerprint()


def test_an_index_is_opened_as_the_build_opens_it(fixture_index_path):
    from cablesearch import indexdir

    gen = indexdir.live_generation(fixture_index_path)
    ours, theirs = index.open_whoosh(gen), whoosh_storage(gen).open_index(INDEX_NAME)
    assert ours.storage.supports_mmap is theirs.storage.supports_mmap is False
    assert ours.doc_count() == theirs.doc_count() > 0


def test_searching_does_not_import_the_build_path(fixture_index_path):
    code = (
        "import sys\n"
        "from cablesearch.index import open_index\n"
        f"with open_index({str(fixture_index_path)!r}) as ix:\n"
        "    assert ix.search('tag:PREL', limit=2).total\n"
        "    ix.facets('*'); ix.prefix_counts('org', 'f')\n"
        "print(sorted(m for m in sys.modules if m.startswith('cablesearch.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    loaded = out.stdout
    for build_module in ("cablesearch.build'", "cablesearch.buildworkers", "cablesearch.sources", "cablesearch.cable'"):
        assert build_module not in loaded, loaded


def test_build_index_is_still_importable_from_index():
    from cablesearch.index import BuildReport, build_index

    assert callable(build_index) and BuildReport.__name__ == "BuildReport"

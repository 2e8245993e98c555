"""The cable parser: golden files over real cables in every form, the rules one by one, bad input."""

from __future__ import annotations

import importlib.util
import json
import time
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cablesearch.cable import merge_meta, parse_cable, ref_from_name
from cablesearch.cable_header import read_decl, read_refs, read_subject, split_tags
from cablesearch.cable_markup import clean_entity_text, detokenize
from cablesearch.cable_meta import normalize_origin
from cablesearch.model import Cable, Classification, EntityType

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures" / "cables"
SEED = FIXTURES / "annotated" / "000_615657d95461bb59.txt"


def _regen_module():
    spec = importlib.util.spec_from_file_location("golden_regen", HERE / "golden" / "regen.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REGEN = _regen_module()


# --- golden files --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(REGEN.CASES))
def test_golden(case: str) -> None:
    """Every field of a real cable, as checked by eye against its text (regen: tests/golden/regen.py)."""
    expected = json.loads((HERE / "golden" / "cables" / f"{case}.json").read_text(encoding="utf-8"))
    actual = REGEN.to_json(REGEN.load_case(case))
    for field in expected:
        assert actual[field] == expected[field], f"{case}: field {field!r} differs"
    assert set(actual) == set(expected)


def test_seed_cable_reads_every_field() -> None:
    """The user's own sample, 09MOSCOW2723, read from its text alone."""
    c = parse_cable(SEED.read_text(encoding="utf-8"), source="000_615657d95461bb59.txt")
    assert c.ref is None  # the file name carries no reference id, and nothing is guessed
    assert (c.origin, c.serial) == ("MOSCOW", "2723")
    assert c.classification == Classification("CONFIDENTIAL", ())
    assert c.decl == date(2019, 11, 4)
    assert c.tags == ("ETRD", "EINV", "ECON", "PREL", "RS", "WTO")
    assert c.subject == "INTEL'S CRYPTO IMPORTATION WAIVER: LESS THAN A BREAKTHROUGH"
    assert (c.classified_by, c.reasons) == ("Ambassador John Beyrle", "1.4 b&d")
    assert [p.number for p in c.paragraphs] == [1, 2, 3, 4, 5, 6, 7]
    assert {p.marking for p in c.paragraphs} == {"C"}
    assert c.redactions == 4
    assert "FSB" in c.entities_of(EntityType.ORG)
    assert "John Beyrle" in c.entities_of("PER")
    assert "DECL:" not in " ".join(e.text for e in c.entities)
    assert "WILSON, HAFNER" in c.body
    assert "Russia's desire to become a \"knowledge-based\" economy." in c.body
    assert "\n1. (C) Summary: Intel representatives" in c.body
    assert "[ORG" not in c.body and "<a" not in c.body and "¶" not in c.body


# --- the rules, one by one -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tokenized", "readable"),
    [
        ("USTR: WILSON , HAFNER GENEVA", "USTR: WILSON, HAFNER GENEVA"),
        ("( C ) Summary: Intel", "(C) Summary: Intel"),
        ("on Russia 's desire", "on Russia's desire"),
        ('to become a " knowledge-based " economy .', 'to become a "knowledge-based" economy.'),
        ("old regulations ; proposed", "old regulations; proposed"),
        ("member states ' stance", "member states' stance"),
        ("a ' tin ear ' for", "a 'tin ear' for"),
        ('" WE LOOK UNCOORDINATED": SWEDES " EMBARRASSED " BY', '"WE LOOK UNCOORDINATED": SWEDES "EMBARRASSED" BY'),
        ("( US $ 11,400 )", "(US $11,400)"),
        ("U.S.- Russia side agreement", "U.S.- Russia side agreement"),  # the source's own space
        ("line one .\nline two", "line one.\nline two"),
    ],
)
def test_detokenize(tokenized: str, readable: str) -> None:
    assert detokenize(tokenized) == readable


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("E.O. 12958: DECL: 11/04/2019 TAGS", date(2019, 11, 4)),
        ("EO 12958 DECL: 09/21/10 TAGS", date(2010, 9, 21)),
        ("E.O. 12958: DECL: 01-05-14", date(2014, 1, 5)),
        ("DECL: 2020/01/19 TAGS", date(2020, 1, 19)),
        ("E.O. 12958: DECL: 1.6 FIVE YEARS AFTER CLOSURE", None),
        ("E.O. 12958: DECL: OADR", None),
        ("E.O. 12958: N/A", None),
        ("DECL: 13/45/2019", None),
    ],
)
def test_decl(line: str, expected: date | None) -> None:
    assert read_decl(line) == expected


def _cls(text: str) -> Classification:
    return parse_cable(text).classification


@pytest.mark.parametrize(
    ("text", "level", "caveats"),
    [
        ("C O N F I D E N T I A L SECTION 01 OF 02 MOSCOW 002723 SIPDIS", "CONFIDENTIAL", ()),
        ("S E C R E T SECTION 01 OF 02 KUWAIT 000110 NOFORN SIPDIS", "SECRET", ("NOFORN",)),
        ("SS E C R E T ASMARA 000546 NOFORN SIPDIS", "SECRET", ("NOFORN",)),
        ("CC O N F I D E N T I A L BUENOS AIRES 001008 SIPDIS", "CONFIDENTIAL", ()),
        ("C O N F I D E N T I A LCAIRO 000079 SIPDIS", "CONFIDENTIAL", ()),
        ("S e c r e t state 135366 E.o. 12958: decl: 09/25/2017", "SECRET", ()),
        ("UNCLAS SECTION 01 OF 02 SAN JOSE 002101 SIPDIS SENSITIVE", "UNCLASSIFIED", ("SENSITIVE",)),
        ("UNCLASSIFIED LONDON 000123 SIPDIS", "UNCLASSIFIED", ()),
        ("NCLAS SECTION 01 OF 02 BRASILIA 001017 SENSITIVE", "UNCLASSIFIED", ("SENSITIVE",)),
        ("CONFIDENTIAL SECTION 01 OF 03 PARIS 000001", "CONFIDENTIAL", ()),
        # no banner: the highest paragraph marking
        ("SIPDIS E.O. 12958: DECL: 12/22/2014 SUBJECT: X\n1. (C) Summary.\n2. (S/NF) More.", "SECRET", ("NOFORN",)),
        ("SIPDIS SUBJECT: Nothing classified here", None, ()),
    ],
)
def test_classification(text: str, level: str | None, caveats: tuple[str, ...]) -> None:
    assert _cls(text) == Classification(level, caveats)


def test_classification_word_in_prose_is_not_a_banner() -> None:
    prose = "The SECRETARY met the minister in the capital on Tuesday for two hours and more. SUBJECT: SECRET TALKS"
    assert _cls(prose).level is None


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("TAGS: <a href='/tag/ETRD_0.html'>ETRD</a> <a href='/tag/WTO_0.html'>WTO</a> SUBJECT: X", ("ETRD", "WTO")),
        ("TAGS PGOV , [ORG PINS  ] , [ORG ZI  ] , [ORG MDC  ] , [ORG ZANU-PF  ] SUBJECT: X",
         ("PGOV", "PINS", "ZI", "MDC", "ZANU", "PF")),
        ("TAGS PREL  ] , [ORG EPET  ] , TC SUBJECT: X", ("PREL", "EPET", "TC")),
        ("Tags: parm , mtcre , prel Subject: x", ("PARM", "MTCRE", "PREL")),
        ("TAGS: PGOV ECON PINR NZ\nSUBJECT: BIO REPORT", ("PGOV", "ECON", "PINR", "NZ")),
    ],
)
def test_tags(text: str, tags: tuple[str, ...]) -> None:
    assert parse_cable("UNCLAS LIMA 000001 " + text).tags == tags


def test_split_tags_follows_the_manifest_spelling() -> None:
    assert split_tags("PGOV, PINS, ZANU-PF, India-Burma") == ("PGOV", "PINS", "ZANU", "PF", "INDIA", "BURMA")


@pytest.mark.parametrize(
    ("header", "subject"),
    [
        ("SUBJECT: INTEL'S CRYPTO IMPORTATION WAIVER: LESS THAN A BREAKTHROUGH Classified By: Ambassador",
         "INTEL'S CRYPTO IMPORTATION WAIVER: LESS THAN A BREAKTHROUGH"),
        ("SUBJECT: IRAQ/ITALY - TRANSCRIPT AND COMMENT ON\nBERLUSCONI'S TROOP REDUCTION COMMENTS\n\nREF: ROME 886",
         "IRAQ/ITALY - TRANSCRIPT AND COMMENT ON BERLUSCONI'S TROOP REDUCTION COMMENTS"),
        ("SUBJECT: ZANU-PF WANTS A DEAL REF: HARARE 5346", "ZANU-PF WANTS A DEAL"),
        ("SUBJECT: LIBYAN OFFICIALS CONFIRM MEETING 1.(SBU) In a July 26 meeting", "LIBYAN OFFICIALS CONFIRM MEETING"),
        ("SUBJECT: FOREST MAFIA ADAPTS VLADIVOSTO 00000005 001.2 OF 003 Introduction", "FOREST MAFIA ADAPTS"),
        ("SUBJECT: TURKEY: THE BATTLE OVER RELIGIOUS AFFAIRS (U) Classified by Polcouns",
         "TURKEY: THE BATTLE OVER RELIGIOUS AFFAIRS"),
        ("SUBJECT: (C) CARLOS REUTEMANN, RELUCTANT CONTENDER REF: A. BUENOS AIRES 0750",
         "(C) CARLOS REUTEMANN, RELUCTANT CONTENDER"),
        ('SUBJECT: "IF YOU DON\'T HAVE YOUR HEALTH..." (AILMENTS AMONG THE CASTRO CLAN)\n\n1. (C)',
         '"IF YOU DON\'T HAVE YOUR HEALTH..." (AILMENTS AMONG THE CASTRO CLAN)'),
        ("SUBJECT: LETTER FOR PRESIDENT BUSH On August 3, post received two letters", "LETTER FOR PRESIDENT BUSH"),
        ("SUBJECT: CAUTIOUS DUTCH REACTION THIS CABLE IS SENSITIVE BUT UNCLASSIFIED", "CAUTIOUS DUTCH REACTION"),
        ("no subject line here", None),
    ],
)
def test_subject(header: str, subject: str | None) -> None:
    assert read_subject(header, "VLADIVOSTOK")[0] == subject


@pytest.mark.parametrize(
    ("line", "year", "refs"),
    [
        ("REF: A. 09MOSCOW1234 B) STATE 12345", 2009, ("09MOSCOW1234", "09STATE12345")),
        ("REF: HARARE 5346 CONFIDENTIAL PAGE 02", 2000, ("00HARARE5346",)),
        ("REF: HARARE 5346", None, ()),  # no year anywhere: left out, not guessed
        ("REF: ( A ) 03 Colombo 2200 ( B ) 03 COLOMBO 2183", 2004, ("03COLOMBO2200", "03COLOMBO2183")),
        ("REFS: A) THE HAGUE 588 B) SECSTATE 160880", 2000, ("00THEHAGUE588", "00STATE160880")),
        ("REF: A. 01/11/10 ERELI-RICCIARDONE E-MAIL B. 09 MANAMA 731", 2010, ("09MANAMA731",)),
        ("REF: (A)STATE 175414 (NOTAL), (B)ISLAMABAD 5601", 2001, ("01STATE175414", "01ISLAMABAD5601")),
    ],
)
def test_refs(line: str, year: int | None, refs: tuple[str, ...]) -> None:
    assert read_refs(line, year) == refs


@pytest.mark.parametrize(
    ("label", "origin"),
    [
        ("Embassy Moscow", "MOSCOW"),
        ("Secretary of State", "SECSTATE"),
        ("USUN New York", "USUN NEW YORK"),
        ("Consulate Shanghai", "SHANGHAI"),
        ("US Mission Geneva", "GENEVA"),
        ("Mission Geneva", "GENEVA"),
        ("Mission USNATO", "USNATO"),
        ("US Interests Section Havana", "HAVANA"),
        ("American Institute Taiwan, Taipei", "AIT TAIPEI"),
        ("Embassy Port Au Prince", "PORT AU PRINCE"),
        ("REO Basrah", "BASRAH"),
        ("", None),
    ],
)
def test_normalize_origin(label: str, origin: str | None) -> None:
    assert normalize_origin(label) == origin


def test_origin_from_the_serial_line_and_the_fm_line() -> None:
    assert parse_cable("C O N F I D E N T I A L STATE 176819 SIPDIS").origin == "SECSTATE"
    assert parse_cable("UNCLAS SECTION 01 OF 02 USUN NEW YORK 000123").origin == "USUN NEW YORK"
    c = parse_cable("R 031356Z NOV 09\nFM AMEMBASSY MOSCOW\nTO RUEHC/SECSTATE WASHDC 5292\n\nSIPDIS\nSUBJECT: X")
    assert (c.origin, c.date) == ("MOSCOW", datetime(2009, 11, 3, 13, 56))


@pytest.mark.parametrize(
    ("mark", "text"),
    [
        ("Intel", "Intel"),
        ("John Beyrle", "John Beyrle"),
        ("DECL:", None),
        ("XXXXXXXXXXXX", None),
        ("XXXXXXXXXXXX XXXXXXXXXXXX", None),
        ("U ) Econoff", "Econoff"),
        ("U ) CLASSIFIED", None),
        ("JO SUBJECT: MUASHER ON PRODUCTIVE KUWAIT MEETING", None),
        ("TRIPOLI 00000829", None),
        ("Russia 's", "Russia's"),
        ("R&D", "R&D"),
    ],
)
def test_entity_noise(mark: str, text: str | None) -> None:
    assert clean_entity_text(mark) == text


def test_paragraph_markings_normalized() -> None:
    text = (
        "S E C R E T PARIS 000001\nSUBJECT: X\n"
        "<a id='par1' href='#par1'>¶</a>1 . \n( S/NF ) First .\n"
        "<a id='par2' href='#par2'>¶</a>2 . \n( [ORG SBU  ] ) Second .\n"
        "<a id='par3' href='#par3'>¶</a>3 . \n( c ) Third .\n"
        "<a id='par4' href='#par4'>¶</a>4 . \nNo marking .\n"
    )
    c = parse_cable(text)
    assert [(p.number, p.marking, p.text) for p in c.paragraphs] == [
        (1, "S/NF", "First."), (2, "SBU", "Second."), (3, "C", "Third."), (4, None, "No marking.")]


def test_plain_paragraphs_are_numbered_in_order() -> None:
    text = "UNCLAS ROME 000001\n\nSUBJECT: X\n\n1. (U) One.\n2. (U) Two, see 5. Below:\n\n3. Three.\n5. Not four."
    assert [p.number for p in parse_cable(text).paragraphs] == [1, 2, 3]


def test_redactions_are_counted() -> None:
    c = parse_cable("UNCLAS ROME 000001 met XXXXXXXXXXXX and XXXXXXXXXXXX XXXXXXXXXXXX at XXX")
    assert c.redactions == 3


@pytest.mark.parametrize(
    ("source", "ref"),
    [("cables/09MOSCOW2723.txt", "09MOSCOW2723"), ("/x/html/05ROME902.html", "05ROME902"),
     ("annotated/00001_3da1b3bfca444ac1.txt", None), ("cables.csv:17", None), (None, None)],
)
def test_ref_from_name(source: str | None, ref: str | None) -> None:
    assert ref_from_name(source) == ref


def test_metadata_wins_over_the_text() -> None:
    c = parse_cable(SEED.read_text(encoding="utf-8"), meta={
        "refid": "09MOSCOW2723", "created": "2009-11-03 13:01", "released": "2010-12-01 21:09",
        "classification": "SECRET//NOFORN", "origin": "Embassy Moscow", "tags": ["WTO", "ZANU-PF"],
        "subject": "  A  SUBJECT ",
    })
    assert c.ref == "09MOSCOW2723"
    assert c.date == datetime(2009, 11, 3, 13, 1)
    assert c.released == datetime(2010, 12, 1, 21, 9)
    assert c.classification == Classification("SECRET", ("NOFORN",))
    assert c.tags == ("WTO", "ZANU", "PF")
    assert c.subject == "A SUBJECT"
    assert merge_meta(Cable(), {}) == Cable()


def test_refs_take_the_year_of_the_metadata() -> None:
    text = "C O N F I D E N T I A L HARARE 005461 SUBJECT: X REF: HARARE 5346 Classified By: DCM"
    assert parse_cable(text).refs == ()
    assert parse_cable(text, meta={"created": "2000-09-27 14:02"}).refs == ("00HARARE5346",)


def test_html_page_trusts_the_link_text_not_the_title() -> None:
    c = parse_cable((FIXTURES / "html" / "05ROME902.html").read_text(encoding="utf-8"))
    assert c.classification.level == "CONFIDENTIAL"  # title='unclassified'
    assert c.ref == "05ROME902"


def test_a_metadata_date_that_is_not_a_date_is_noted_not_dropped_silently() -> None:
    text = "R 220136Z DEC 97\nFM AMEMBASSY ROME\nUNCLAS ROME 000001\nSUBJECT: X\n1. Text."
    c = parse_cable(text, meta={"date": "13/45/2009 10:00", "released": "soon"})
    assert c.date == datetime(1997, 12, 22, 1, 36)  # the text's
    assert c.notes == ("its date '13/45/2009 10:00' is not a date; the text's date is used",
                       "its released 'soon' is not a date; it has no release date")
    bare = parse_cable("UNCLAS ROME 000001\nSUBJECT: X\n1. Text.", meta={"created": "2009-02-30"})
    assert bare.date is None and bare.notes == ("its date '2009-02-30' is not a date; it has no date",)
    fine = parse_cable(text, meta={"date": "6/5/1989 10:35", "released": "", "created": None})
    assert fine.date == datetime(1989, 6, 5, 10, 35) and fine.notes == ()
    either = parse_cable(text, meta={"created": "soon", "date": "6/5/1989 10:35"})  # the other key served
    assert either.date == datetime(1989, 6, 5, 10, 35) and either.notes == ()


def test_a_re_spaced_caveat_in_the_prelude_is_read_whole() -> None:
    """08BUENOSAIRES62's annotated file (a real cable, cut short): the tokenizer wrote the caveat
    as ``FOR OFFICIA LUSEONLY``; the label was read as ``UNCLASSIFIED//FOR``."""
    text = ("<code><pre>137583,1/16/2008 17:47,08BUENOSAIRES62,Embassy BuenosAires,UNCLASSIFIED//FOR OFFICIA "
            "LUSEONLY ,07SECSTATE168473,\"VZCZCXYZ0006RR RUEHWEB DE RUEHBU #0062/01 0161747\",\"UNCLAS BUENOS "
            "AIRES 000062 SIPDIS E.O. 12958: N/A TAGS: <a href='/tag/ASEC_0.html'>ASEC</a> SUBJECT: ANNUAL "
            "OVERSEAS SECURITY ADVISORY COUNCIL ( OSAC ) CRIME AND SAFETY REPORT <a id='par1' href='#par1'>"
            "\u00b6</a>1 . Argentina remains a relatively safe country .\n")
    c = parse_cable(text)
    assert c.ref == "08BUENOSAIRES62"
    assert c.classification.label == "UNCLASSIFIED//FOR OFFICIAL USE ONLY"


def test_csv_row_as_text() -> None:
    row = (
        '"7","12/22/1997 01:01","97WELLINGTON1656","Embassy Wellington","CONFIDENTIAL","",'
        '"R 220136Z DEC 97\nFM AMEMBASSY WELLINGTON","C O N F I D E N T I A L WELLINGTON 001656\n'
        'SUBJECT: NZ\\\'S \\"NEW\\" PM\n\n1. (C) TEXT\\\\MORE."\n'
    )
    c = parse_cable(row)
    assert (c.ref, c.origin, c.date) == ("97WELLINGTON1656", "WELLINGTON", datetime(1997, 12, 22, 1, 1))
    assert c.subject == 'NZ\'S "NEW" PM'
    assert "TEXT\\MORE." in c.body


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\n ",
        "<code><pre></pre></code>",
        "[ORG [PER [LOC [MISC unclosed marks everywhere",
        "closing marks  ]  ]  ] without openers  ]",
        "C O N F I D E N T I A L SECTION 01 OF 02 MOSCOW 002723 SIPDIS E.O. 12958: DECL: 11/04/2019 TAGS: <a href='/t",
        "\x00\x01\x02 binary-ish \ufffd\ufffd \u2029 \u2028",
        "SUBJECT:" * 1000,
        "<table class='cable'><tr><th>Reference ID</th></tr><tr><td><a>",
        '"1","2","3"',
    ],
)
def test_bad_text_yields_a_cable(text: str) -> None:
    c = parse_cable(text, source="bad.txt")
    assert isinstance(c, Cable)
    assert c.source == "bad.txt"


def test_unbalanced_marks_keep_the_words() -> None:
    c = parse_cable("UNCLAS ROME 000001 SUBJECT: [ORG TALKS WITH [PER Smith  ] AND [LOC Rome  ")
    assert c.subject == "TALKS WITH Smith AND Rome"
    assert [e.text for e in c.entities] == ["Smith"]


def test_adversarial_text_is_linear() -> None:
    """Patterns that make careless regexes quadratic, a few MB of them, parse in seconds."""
    chunk = (
        "[ORG " * 200 + "-" * 400 + " " + '" ' * 200 + "<pre>" * 50 + "SUBJECT: " + "A " * 300
        + "1.4 (b) and " * 50 + "REF: " + "STATE 1 " * 100 + "XXXXXXXXXXXX " * 50 + "\n"
    )
    text = "<code><pre>C O N F I D E N T I A L ROME 000001 " + chunk * 500 + "</pre></code>"
    assert len(text) > 2_000_000
    start = time.process_time()
    parse_cable(text)
    assert time.process_time() - start < 20


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=3000))
def test_parse_cable_never_raises(text: str) -> None:
    c = parse_cable(text, source="x")
    assert isinstance(c, Cable)
    assert "\u2029" not in c.body


_PIECES = st.sampled_from([
    "C O N F I D E N T I A L ", "S E C R E T ", "UNCLAS ", "SECTION 01 OF 02 ", "MOSCOW 002723 ", "SIPDIS ",
    "E.O. 12958: DECL: 11/04/2019 ", "TAGS: ", "<a href='/tag/WTO_0.html'>WTO</a> ", "SUBJECT: ", "REF: ",
    "A. 09MOSCOW1234 ", "Classified By: ", "Reasons 1.4 b&d. ", "<a id='par1' href='#par1'>¶</a>1 . \n",
    "( C ) ", "[ORG ", "[PER John  ] ", "  ] ", '" ', "' ", " , ", " . \n", "XXXXXXXXXXXX ", "id: 1 date: ",
    "9/10/2009 12:07 refid: 09ASUNCION561 origin: Embassy Asuncion classification: SECRET//NOFORN ",
    "... ", "-----", "\n\n", "<code><pre>", "</pre></code>", "Cable dated:2002-11-15T12:40:00", "¶",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=60).map("".join))
def test_parse_cable_never_raises_on_cable_like_text(text: str) -> None:
    c = parse_cable(text)
    assert c.classification.level in (None, "UNCLASSIFIED", "LIMITED OFFICIAL USE", "CONFIDENTIAL", "SECRET")
    assert all(e.text.strip() for e in c.entities)
    assert all(p.number >= 0 for p in c.paragraphs)


def test_a_csv_rows_date_wins_over_a_metadata_block_in_its_body():
    """Two rows of the shared sample whose bodies end with the site's metadata block of the
    cable, with another time (``...,10/22/2004 15:09,04THEHAGUE2735,...``): the row's own date
    column is the cable's date, as a manifest's would be."""
    from cablesearch.sources import discover

    rows = list(discover([str(HERE / "fixtures" / "csv" / "date-in-body.csv")]))
    assert len(rows) == 2
    dates = {}
    for raw in rows:
        assert "15:09" in raw.text or "15:12" in raw.text  # the block's other time is in the body
        cable = parse_cable(raw.text, source=raw.source, meta=raw.meta)
        dates[cable.ref] = cable.date
    assert dates == {"04THEHAGUE2735": datetime(2004, 10, 22, 15, 3), "05BOGOTA5616": datetime(2005, 6, 13, 15, 3)}

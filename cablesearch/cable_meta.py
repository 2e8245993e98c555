"""Names and dates of cables: post names (``Embassy Moscow`` -> ``MOSCOW``), the date spellings of
the pages and dumps, and the routing header's FM line and date-time group. Pure functions.
"""

from __future__ import annotations

import re
from datetime import datetime


def normalize_post(post: str) -> str:
    """A post as the cables spell it on the serial line: ``STATE`` -> ``SECSTATE``."""
    post = " ".join(post.upper().split())
    return _POST_ALIASES.get(post, post)


_POST_ALIASES = {"STATE": "SECSTATE", "SECSTATE WASHDC": "SECSTATE", "USUN": "USUN NEW YORK", "USEU": "BRUSSELS"}

# Metadata spelling (``Embassy Moscow``) -> post name. The rule: drop the kind of office, keep
# the city, uppercase; the few offices that sign with another name are listed.
_ORIGIN_SPECIAL = {
    "SECRETARY OF STATE": "SECSTATE",
    "SECSTATE": "SECSTATE",
    "STATE": "SECSTATE",
    "USUN NEW YORK": "USUN NEW YORK",
    "USUN": "USUN NEW YORK",
    "USEU BRUSSELS": "BRUSSELS",
    "MISSION USNATO": "USNATO",
    "USNATO": "USNATO",
    "UNVIE": "UNVIE VIENNA",
    "AMERICAN INSTITUTE TAIWAN, TAIPEI": "AIT TAIPEI",
    "IRAN RPO DUBAI": "RPO DUBAI",
    "US DELEGATION, SECRETARY": "SECDEL",
}
_ORIGIN_PREFIX = re.compile(
    r"^(?:AMERICAN\s+)?(?:US\s+|U\.S\.\s+)?(?:EMBASSY|CONSULATE(?:\s+GENERAL)?|AMEMBASSY|AMCONSUL|MISSION|"
    r"USMISSION|INTERESTS\s+SECTION|REO|OFFICE|LIAISON\s+OFFICE|BRANCH\s+OFFICE)\s+"
)


def normalize_origin(value: str) -> str | None:
    """``Embassy Moscow`` -> ``MOSCOW``; ``Secretary of State`` -> ``SECSTATE``; ``USUN New York`` ->
    ``USUN NEW YORK``; ``Consulate Shanghai`` -> ``SHANGHAI``; ``US Mission Geneva`` -> ``GENEVA``."""
    v = " ".join(value.replace("_", " ").split()).upper()
    if not v:
        return None
    if v in _ORIGIN_SPECIAL:
        return _ORIGIN_SPECIAL[v]
    stripped = _ORIGIN_PREFIX.sub("", v)
    if stripped != v and stripped:
        return _ORIGIN_SPECIAL.get(stripped, stripped)
    return normalize_post(v)


# --- FM line of a routing header ---------------------------------------------------------------

_FM = re.compile(r"^\s*FM\s+(?:AM(?:EMBASSY|CONSUL(?:ATE)?)|USMISSION|USDEL|AMEMB)?\s*(?P<post>[A-Z][A-Z .'-]*?)\s*$",
                 re.MULTILINE)
_DTG = re.compile(
    r"\b(?P<d>\d\d)(?P<h>\d\d)(?P<mi>\d\d)Z\s+(?P<mon>JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)\s+(?P<y>\d\d)\b"
)
_MONTHS = {m: i for i, m in enumerate(("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC").split(), 1)}


def read_routing(header: str) -> tuple[str | None, datetime | None]:
    """``FM AMEMBASSY MOSCOW`` -> MOSCOW and the date-time group ``031356Z NOV 09`` from a routing header."""
    origin = None
    m = _FM.search(header)
    if m:
        post = m.group("post").strip()
        post = re.sub(r"\s+(?:WASHDC|WASHINGTON DC)$", "", post)
        if post:
            origin = normalize_post(post)
    when = None
    d = _DTG.search(header)
    if d:
        year = two_digit_year(int(d.group("y")))
        try:
            when = datetime(year, _MONTHS[d.group("mon")], int(d.group("d")), int(d.group("h")), int(d.group("mi")))
        except ValueError:
            when = None
    return origin, when


# --- dates -----------------------------------------------------------------------------------

_DATE_FORMATS = (
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m.%d.%Y %H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y",
    "%A , %d %B %Y , %H:%M",
    "%A, %d %B %Y, %H:%M",
)


def parse_datetime(value: str) -> datetime | None:
    """Parse the date spellings of the cable pages and dumps; None when it is not one."""
    value = " ".join(value.split())
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    return None


def two_digit_year(yy: int) -> int:
    """Two-digit years: the cables run 1966-2010 and declassify up to ~2060."""
    return 2000 + yy if yy < 66 else 1900 + yy



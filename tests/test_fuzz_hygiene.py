"""Property tests of hygiene: any text a child can report (paths, secrets, terminal escapes,
controls, lone surrogates) comes out printable, masked, and the same when cleaned twice."""

from __future__ import annotations

import json
import re

from hypothesis import assume, given
from hypothesis import strategies as st

from sphinx_layertrace.capture.hygiene import MIN_SECRET, Hygiene

CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
LABELS = ("<docs>", "<site-packages>", "<prefix>", "<tmp>", "~", "<layertrace>")

# anything Python's str holds, lone surrogates and C0/C1 controls included
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=80)
nasty = st.sampled_from(
    ["\x1b[31m", "\x1b]0;title\x07", "\x1b\\", "\x00", "\x7f", "\x9b", "\ud800", "\udcff", "\r\n"]
)
# realistic secrets and paths, in alphabets that labels, "***" and "0x…" never form
secrets = st.text("ABCDEFGHJKLMNPQRSTUVWXYZ23456789", min_size=MIN_SECRET, max_size=16)
paths = st.lists(st.text("abcdefghijklmnop", min_size=1, max_size=6), min_size=1, max_size=4).map(
    lambda parts: "/" + "/".join(parts)
)


@st.composite
def reports(draw):
    """A Hygiene and a text mixing its secrets and paths with random and nasty pieces."""
    hidden = draw(st.lists(secrets, max_size=3, unique=True))
    places = draw(st.lists(st.tuples(paths, st.sampled_from(LABELS)), max_size=3))
    hygiene = Hygiene(
        secrets=tuple(sorted(hidden, key=len, reverse=True)),
        paths=tuple(sorted(places, key=lambda p: len(p[0]), reverse=True)),
    )
    pieces = st.one_of(
        any_text, nasty, *(st.just(s) for s in hidden), *(st.just(p) for p, _ in places)
    )
    text = "".join(draw(st.lists(pieces, max_size=12)))
    return hygiene, text, hidden


@given(reports())
def test_clean_text_is_printable_masked_and_stable(case) -> None:
    hygiene, text, hidden = case
    cleaned = hygiene.text(text)
    cleaned.encode("utf-8")  # no lone surrogate survives
    assert not CONTROLS.search(cleaned)
    assert "\x1b" not in cleaned
    for secret in hidden:
        assert secret not in cleaned
    assert hygiene.text(cleaned) == cleaned


@given(
    st.lists(any_text, max_size=3), st.lists(st.tuples(any_text, any_text), max_size=3), any_text
)
def test_any_secrets_and_paths_never_crash(hidden, places, text) -> None:
    hygiene = Hygiene(secrets=tuple(hidden), paths=tuple(places))
    hygiene.text(text).encode("utf-8")


@given(st.lists(any_text | nasty, min_size=1, max_size=3).map("".join), any_text)
def test_a_secret_with_controls_is_not_shown_escaped(secret, around) -> None:
    """The snippet prints the secret; the page must not show it in any spelling, escaped
    included (controls become ``\\x01``, surrogates ``\\udcff``)."""
    assume(len(secret) >= MIN_SECRET and secret.strip())
    hygiene = Hygiene(secrets=(secret,))
    cleaned = hygiene.text(around + secret + around)
    spelled = Hygiene().text(secret)
    assume(spelled not in Hygiene().text(around))  # the secret's spelling is in the noise itself
    assert spelled not in cleaned


@given(reports())
def test_needed_is_conservative(case) -> None:
    """``needed`` (a byte look at the worker's JSON) may say yes for nothing, never no for a
    string that cleaning changes: a False there would publish the unmasked text."""
    hygiene, text, _ = case
    line = json.dumps({"result": {"stdout": text}}).encode("ascii")
    if hygiene.clean({"stdout": text}) != {"stdout": text}:
        assert hygiene.needed(line)

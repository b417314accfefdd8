"""Property tests of what an author writes around a snippet: ``:expect:`` and every directive
option. Any text gives a value or the one error the directive turns into a warning line
(``ValueError``/``TypeError``, caught in ``_checked_options``), never another exception."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sphinx_layertrace.meaning.expect import parse_expect
from sphinx_layertrace.sphinxext.directive import OPTIONS, split_options

any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)
names = st.from_regex(
    r"[A-Za-z_][A-Za-z0-9_]{0,8}(\.[A-Za-z_][A-Za-z0-9_]{0,8}){0,2}", fullmatch=True
)
separators = st.sampled_from([",", ", ", "\n", " ,\n ", ",,"])


@given(any_text)
def test_expect_gives_names_or_a_value_error(text) -> None:
    try:
        parsed = parse_expect(text)
    except ValueError as exc:
        why = str(exc)
        assert why.startswith(":expect:")
        return
    assert parsed and all(name and name == name.strip() for name in parsed)
    assert parse_expect(", ".join(parsed)) == parsed  # what it read, written back, reads the same


@given(st.lists(names, min_size=1, max_size=5), separators)
def test_expect_reads_every_name_however_separated(written, separator) -> None:
    assert parse_expect(separator.join(written)) == tuple(written)


@given(st.sampled_from(sorted(OPTIONS)), any_text | st.none())
def test_every_option_gives_a_value_or_a_value_error(name, raw) -> None:
    why = "no error"
    try:
        OPTIONS[name](raw)  # docutils passes None for an option written without a value
    except (ValueError, TypeError) as exc:
        why = " ".join(str(exc).split())
    assert why  # a warning that says why, on one line


@given(st.lists(any_text.filter(lambda t: "\n" not in t), max_size=8), st.booleans())
def test_the_option_block_and_the_code_split_without_loss(lines, keep_blank) -> None:
    options, code, problems = split_options(lines, keep_blank=keep_blank)
    assert code == lines[len(lines) - len(code) :]  # the code is the input's tail, untouched
    assert all(isinstance(value, str) for value in options.values())
    assert len(problems) <= len(lines)

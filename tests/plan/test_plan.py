"""Plan files: parsing, clear errors, and the default plan's contents."""

from __future__ import annotations

import pytest

from reinfuse.errors import PlanError
from reinfuse.plan import default_plan, default_plan_text, parse_plan
from reinfuse.style import get_style


def test_default_plan_parses_and_is_hashed() -> None:
    plan = default_plan()
    assert plan.id == "seed-cart2"
    assert plan.label(1) == "CART1" and plan.label(3) == "infusion 3"
    assert {t.id for t in plan.tables} >= {"table1", "table2"}
    assert len(plan.sha256) == 64
    assert parse_plan(default_plan_text()).sha256 == plan.sha256


@pytest.mark.parametrize(("text", "words"), [
    ("[plan\n", "not valid TOML"),
    ("[plan]\nformat = 9\n", "format 9 is not supported"),
    ("[plan]\npopulation = 'everyone'\n", "'population' is 'everyone'; allowed: reinfused, all"),
    ("[[tables]]\nid='t'\ntitle='T'\ncolumns=[{id='a', label='A'}]\n"
     "rows=[{label='x', stat='mean'}]\n", "tables[0].rows[0]: 'stat' is 'mean'"),
    ("[[tables]]\nid='t'\ntitle='T'\ncolumns=[{id='a', label='A'}]\n"
     "rows=[{label='x', stat='count'}]\n", "a 'count' row needs a 'variable'"),
    ("[[tables]]\nid='t'\ntitle='T'\ncolumns=[{id='a', label='A'}]\n"
     "rows=[{label='x', stat='n', columns=['b']}]\n", "unknown column(s) ['b']"),
    ("[[comparisons]]\nid='c'\ntitle='C'\nvariable='v'\npaired=true\ntest='wilcoxon'\n"
     "groups=[{label='a'}]\n", "exactly two groups"),
    ("[[comparisons]]\nid='c'\ntitle='C'\nvariable='v'\npaired='yes'\ntest='fisher'\n"
     "groups=[{label='a'},{label='b'}]\n", "'paired' must be bool"),
])
def test_plan_errors_name_the_place(text: str, words: str) -> None:
    with pytest.raises(PlanError) as info:
        parse_plan(text, source="my_plan.toml")
    assert "my_plan.toml" in str(info.value)
    assert words in str(info.value)


# p-values as the seed paper prints them (two significant digits): 0.03, 0.029, 0.16, 0.084.
@pytest.mark.parametrize(("p", "text"), [
    (0.0299, "0.03"), (0.029, "0.029"), (0.1601, "0.16"), (0.0840, "0.084"),
    (0.0499, "0.05"), (0.00049, "<0.001"), (0.999, ">0.99"), (0.5, "0.5"),
])
def test_seed_pvalue_style(p: float, text: str) -> None:
    assert get_style("seed").pvalue(p) == text


def test_seed_counts_and_medians() -> None:
    style = get_style("seed")
    assert style.n_percent(16, 18) == "16 (88.9)"   # Table 1, male
    assert style.n_percent(7, 18) == "7 (38.9)"     # Table 2, CNS1 flow+ (paper: 38.8)
    assert style.median_range(18.5, 7, 30) == "18.5 (7–30)"
    assert style.median_range(5.4, 0.63, 2886, decimals=2) == "5.40 (0.63–2886.00)"


def test_unknown_style_is_refused() -> None:
    with pytest.raises(PlanError, match="unknown style 'vancouver'"):
        get_style("vancouver")


def test_unknown_keys_are_refused() -> None:
    text = ("[[tables]]\nid='t'\ntitle='T'\ncolumns=[{id='a', label='A'}]\n"
            "rows=[{label='x', stat='n', colour='red'}]\n")
    with pytest.raises(PlanError, match=r"unknown key.*colour"):
        parse_plan(text)

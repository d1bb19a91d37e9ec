"""Plain-text (Markdown) tables of design results for the terminal.

The HTML/Word/PDF design report is :mod:`reinfuse.report.design` (the report layer; this
computing layer does not import it).
"""

from __future__ import annotations

from reinfuse.design.bayes import PredictiveMonitoring
from reinfuse.design.inference import TwoStageInference
from reinfuse.design.simon import SimonDesign


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(result: SimonDesign | TwoStageInference | PredictiveMonitoring) -> str:
    """A Markdown table (and the method sentence) for one design result.

    Examples
    --------
    >>> from reinfuse.design import simon_two_stage
    >>> print(to_markdown(simon_two_stage(0.2, 0.4, 0.1, 0.1, nmax=40)).splitlines()[2])
    | minimax | 3/19 | 10/36 | 28.26 | 0.4551 | 0.0861 | 0.9024 |
    """
    if isinstance(result, SimonDesign):
        rows = []
        for s in (result.minimax, result.optimal, *result.admissible):
            if s.kind == "admissible" and (s.n in (result.minimax.n, result.optimal.n)):
                continue
            rows.append([s.kind if s.q_low is None else f"admissible q {s.q_low:.2f}-"
                         f"{s.q_high:.2f}", f"{s.r1}/{s.n1}", f"{s.r}/{s.n}", f"{s.en0:.2f}",
                         f"{s.pet0:.4f}", f"{s.alpha:.4f}", f"{s.power:.4f}"])
        body = _table(["design", "r1/n1", "r/n", "EN0", "PET0", "alpha", "power"], rows)
    elif isinstance(result, TwoStageInference):
        body = _table(["stage", "responses/treated", "p-value", "UMVUE", "MLE",
                       f"{result.confidence_level:.0%} CI"],
                      [[str(result.stage), f"{result.statistic}/{result.n}",
                        f"{result.pvalue:.4g}", f"{result.estimate:.4f}",
                        f"{result.mle:.4f}",
                        f"{result.ci_low:.4f}-{result.ci_high:.4f}"]])
        body += "\n"
    else:
        body = _table(["patients", "stop if responses <="],
                      [[str(n), "never" if b < 0 else str(b)]
                       for n, b in zip(result.looks[:-1], result.stop_at_or_below[:-1],
                                       strict=True)])
        body += (f"\n\nAt {result.n} patients, efficacy if responses > "
                 f"{result.stop_at_or_below[-1]}.\n\n"
                 + _table(["", "P(efficacy)", "E[N]", "PET"],
                          [["p0", f"{result.alpha:.4f}", f"{result.en0:.2f}",
                            f"{result.pet0:.4f}"],
                           ["p1", f"{result.power:.4f}", f"{result.en1:.2f}",
                            f"{result.pet1:.4f}"]]))
    return body.rstrip("\n") + "\n\n" + result.method + "\n"

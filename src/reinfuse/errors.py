"""The one exception hierarchy of reinfuse.

Every error a user can trigger derives from :class:`ReinfuseError`, so a caller (or the
CLI) can catch them all in one place and print the message, which always says what was
received and what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from reinfuse.findings import Finding


class ReinfuseError(Exception):
    """Base class of every error raised on purpose by reinfuse."""


class CohortReadError(ReinfuseError):
    """A cohort source cannot be read at all (not a workbook, encrypted, sheet missing...)."""


class CohortValidationError(ReinfuseError):
    """A cohort was read but has errors; ``findings`` lists every one of them."""

    def __init__(self, findings: Sequence[Finding], source: str = "") -> None:
        self.findings = list(findings)
        self.source = source
        errors = [f for f in self.findings if f.severity == "error"]
        head = f"{len(errors)} error(s) in {source or 'the cohort'}"
        lines = [f"  - {f.location()}: {f.message}" for f in errors[:20]]
        more = f"\n  ... and {len(errors) - 20} more" if len(errors) > 20 else ""
        super().__init__(head + ":\n" + "\n".join(lines) + more)


class PlanError(ReinfuseError):
    """An analysis plan is malformed or refers to something that does not exist."""


class UsageError(ReinfuseError):
    """Command-line options that cannot be used together, or not with this input."""


class OutputExistsError(ReinfuseError):
    """Refusing to overwrite a file or folder the user did not ask to replace."""


class OutputLockedError(OutputExistsError):
    """Another process is writing the same output (its lock file is held)."""


class CriteriaError(ReinfuseError, ValueError):
    """An input to a clinical criterion cannot be used (wrong type, range, label or shape)."""


class ReportFormatError(ReinfuseError, ValueError):
    """An output format that reinfuse cannot write."""


class ExternalResourceError(ReinfuseError):
    """The PDF renderer was asked for a resource outside the report (the report is offline)."""


class StatisticsError(ReinfuseError):
    """A statistical test was asked for on data it cannot be computed from."""


class InternalError(RuntimeError):
    """A bug in reinfuse: an internal contract was broken (not caused by the user's input).

    For example ``derive`` returned a column the variable registry
    (:mod:`reinfuse.variables`) does not declare, or of another dtype. Deliberately not a
    :class:`ReinfuseError`: it should surface as a bug report, not as an input problem.
    """


class FlowError(ReinfuseError):
    """A flow cytometry input (FCS file, gate file, bead lot, bead fit) that cannot be used."""


class FcsFormatError(FlowError):
    """An FCS file is malformed, truncated or uses a layout reinfuse does not read."""


class RegistryError(ReinfuseError):
    """A registry cannot be opened or used (no such database, older schema, bad lock)."""


class RegistryConflictError(RegistryError):
    """Another import changed the registry while this one ran; nothing was written.

    The import can simply be run again: it then compares the file with the registry as
    the other import left it (and the audit trail keeps both changes).
    """


class LockError(RegistryError):
    """A data lock that does not exist, already exists, or whose content is not intact."""

"""Error types that carry where a problem is: manifest file, model, variant and field."""

from __future__ import annotations

from collections.abc import Iterable


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest of ``choices`` to a misspelt ``word``, else ''."""
    import difflib

    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


class LiteRTBuildError(Exception):
    """Base class for errors reported to the user without a traceback."""


class ManifestError(LiteRTBuildError):
    """A problem in models.yaml, located as precisely as we can."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        model: str | None = None,
        variant: str | None = None,
        field: str | None = None,
        bundle: str | None = None,
        line: int | None = None,
        column: int | None = None,
        problems: list[ManifestError] | None = None,
    ) -> None:
        self.file = file
        self.line = line
        self.column = column
        self.problems = problems or []
        self.bundle = bundle
        self.model = model
        self.variant = variant
        self.field = field
        self.detail = message
        super().__init__(self._format())

    @classmethod
    def combined(cls, errors: list[ManifestError]) -> ManifestError:
        """One error for several problems of one entry: a header naming what they share, then
        each problem as a full located line, sorted by line (unlocated ones last)."""
        errors = [p for e in errors for p in (e.problems or [e])]
        if len(errors) == 1:
            return errors[0]
        ordered = sorted(errors, key=lambda e: (e.line is None, e.line or 0, e.column or 0))
        first = ordered[0]

        def shared(attr: str) -> str | None:
            values = {getattr(e, attr) for e in ordered}
            return values.pop() if len(values) == 1 else None

        return cls(f"{len(ordered)} problems:", file=shared("file"), model=shared("model"),
                   variant=shared("variant"), bundle=shared("bundle"), field=shared("field"),
                   line=first.line, column=first.column, problems=ordered)

    def located(self, line: int | None, column: int | None) -> ManifestError:
        """A copy placed at ``line``:``column`` (1-based) unless it is located already."""
        if self.line is not None or line is None or self.problems:
            return self
        return ManifestError(self.detail, file=self.file, model=self.model, variant=self.variant,
                             field=self.field, bundle=self.bundle, line=line, column=column)

    def _format(self) -> str:
        where = []
        if self.bundle:
            where.append(f"bundle '{self.bundle}'")
        if self.model:
            where.append(f"model '{self.model}'")
        if self.variant:
            where.append(f"variant '{self.variant}'")
        if self.field:
            where.append(f"field '{self.field}'")
        if self.problems:  # the header carries no line: each problem below has its own
            head = ", ".join(([self.file] if self.file else []) + where)
            lines = [f"{head}: {self.detail}" if head else self.detail]
            return "\n  ".join(lines + [str(p) for p in self.problems])
        if self.file and self.line is not None:
            located = f"{self.file}:{self.line}:{self.column or 1}: "
            return located + (f"{', '.join(where)}: {self.detail}" if where else self.detail)
        prefix = ", ".join(([self.file] if self.file else []) + where)
        return f"{prefix}: {self.detail}" if prefix else self.detail


class ConversionError(LiteRTBuildError):
    """The model could not be turned into a LiteRT artifact (raised in the worker)."""


class VerificationError(LiteRTBuildError):
    """The artifact does not load, does not run, or disagrees with the Keras model."""

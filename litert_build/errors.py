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
    ) -> None:
        self.file = file
        self.bundle = bundle
        self.model = model
        self.variant = variant
        self.field = field
        self.detail = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.bundle:
            where.append(f"bundle '{self.bundle}'")
        if self.model:
            where.append(f"model '{self.model}'")
        if self.variant:
            where.append(f"variant '{self.variant}'")
        if self.field:
            where.append(f"field '{self.field}'")
        prefix = ", ".join(where)
        return f"{prefix}: {self.detail}" if prefix else self.detail


class ConversionError(LiteRTBuildError):
    """The model could not be turned into a LiteRT artifact (raised in the worker)."""


class VerificationError(LiteRTBuildError):
    """The artifact does not load, does not run, or disagrees with the Keras model."""

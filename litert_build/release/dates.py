"""One rule for time in what litert-build writes.

``SOURCE_DATE_EPOCH`` (https://reproducible-builds.org/specs/source-date-epoch/), when set to a
whole number of seconds (digits only; anything else counts as unset), is the only time that
reaches an output:

* archives stamp every entry with it, but never earlier than 1980-01-01 (the earliest time a
  zip entry can hold), which is also their time when it is unset;
* provenance statements write it as ``startedOn``/``finishedOn``, and no time when it is unset;
* a release record (``publish``) is an event, not a build output: it takes the time of
  publishing when it is unset.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z


def source_date_epoch() -> int | None:
    """``SOURCE_DATE_EPOCH`` as seconds, or None when unset or not a whole number."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return int(value) if value.isdigit() else None


def archive_epoch() -> int:
    """The time stamped on archive entries."""
    return max(source_date_epoch() or ZIP_EPOCH, ZIP_EPOCH)


def iso_utc(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def release_date() -> str:
    """``SOURCE_DATE_EPOCH`` when set (reproducible pipelines), else now, as UTC ISO 8601."""
    epoch = source_date_epoch()
    return iso_utc(epoch if epoch is not None else datetime.now(tz=UTC).timestamp())

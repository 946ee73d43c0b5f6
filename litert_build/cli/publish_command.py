"""``litert-build publish ARCHIVE --to URL``."""

from __future__ import annotations

from pathlib import Path


def run_publish(archive: Path, target: str) -> int:
    from litert_build.release.publish import PublishError, publish

    if not archive.is_file():
        print(f"litert-build publish: no such file: {archive}")
        return 1
    try:
        outcome = publish(archive, target)
    except PublishError as exc:
        print(f"litert-build publish: {exc}")
        return 1
    record = outcome.record
    what = (f"{record['bundle']} {record['version']} ({record['size']:,} bytes, "
            f"sha256 {record['sha256'][:16]})")
    if outcome.status == "published":
        print(f"published {what} to {target}/{record['file']}")
    elif outcome.repaired:
        print(f"{what} is already published at {target} with these bytes; "
              f"repaired the missing {' and '.join(outcome.repaired)}")
    else:
        print(f"{what} is already published at {target} with these bytes: nothing to do")
    return 0

"""Test order: the longest end-to-end files first.

CI runs ``-n 2 --dist loadfile``: each worker takes the next whole file as it frees up, in collection
order. Alphabetical order put several of the longest files (reproducible, sessions, warm workers) last,
so one worker ran them alone at the end; longest-first packs the two workers evenly. The list is by
measured wall time on the 2-core CI machine (``pytest --durations``), longest first; files not listed
keep their order after these.
"""

from __future__ import annotations

LONGEST_FIRST = (
    "test_conversion_memory.py", "test_reproducible.py", "test_sessions.py", "test_kerashub_families.py",
    "test_cluster.py", "test_llm.py", "test_hub_zero_config.py", "test_kerashub.py", "test_hostile.py",
    "test_warm_workers.py", "test_incremental.py", "test_other_backends.py", "test_model_kinds.py",
    "test_cluster_cli.py", "test_export.py", "test_variants.py", "test_cache.py", "test_aot.py",
    "test_aeq.py", "test_api.py", "test_publish_concurrent.py", "test_example_build.py",
)


def pytest_collection_modifyitems(session, config, items) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: same-file order kept

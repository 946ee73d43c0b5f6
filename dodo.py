"""doit entry point for this repository: the tasks come from the litert_build package.

`doit` here builds every model in ./models.yaml (the bundled example).
"""

from litert_build.build.tasks import doit_config, task_bundle, task_convert, task_report  # noqa: F401

DOIT_CONFIG = doit_config()

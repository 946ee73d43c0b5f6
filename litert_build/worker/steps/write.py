"""Step ``write``: the runtime assets, the artifact, then its manifest, each written atomically."""

from __future__ import annotations

from litert_build.worker.intermediate import Described
from litert_build.worker.job import Job
from litert_build.worker.runner import step
from litert_build.worker.steps.describe import assets_folder


@step("writing the artifact")
def write(job: Job, described: Described) -> None:
    """Write the assets (names from the preset's tokenizer, kept inside ``<model>.assets/``), then
    the .tflite, then its manifest. The old manifest (and the provenance that names the files) goes
    first, so a visible manifest always matches the visible artifact, whenever the process is
    killed."""
    from litert_build.plan.layout import provenance_path
    from litert_build.store.files import atomic_write_bytes, dumps_manifest, remove_quietly
    from litert_build.store.safepath import inside

    folder = assets_folder(job)
    for name, data in described.assets.items():
        atomic_write_bytes(inside(folder, name), data)
    remove_quietly(job.manifest, provenance_path(job.tflite))
    atomic_write_bytes(job.tflite, described.flatbuffer)
    atomic_write_bytes(job.manifest, dumps_manifest(described.manifest))  # last: marks the build complete

"""Conversions on a Dask cluster: doit stays here, the worker's job runs on a Dask worker.

Everything but the conversion stays on the machine running ``litert-build``: the task graph,
up-to-date checks, locks and target paths. With a scheduler (``--scheduler``,
``LITERT_BUILD_SCHEDULER`` or ``executor: {scheduler: ...}``), a convert task that must convert

1. uploads the files its key covers to the artifact cache's store under their sha256
   (:mod:`.inputs`), once per content;
2. submits one Dask task (:func:`.remote.run_remote`) with the spec, those digests and this
   machine's tool versions (:mod:`.submit`); the Dask worker refuses if its tools differ,
   materialises the inputs by digest in a scratch folder, runs the same conversion worker as a
   local build and stores the result as an ordinary cache entry;
3. restores that entry with the checks of any cache hit and writes provenance naming the worker.

:mod:`.connect` holds the client (one per process) and the check made before a build starts.
"""

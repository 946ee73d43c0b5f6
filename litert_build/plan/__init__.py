"""Settings -> build specs: one per model/variant, keyed by the hashes of everything it depends on;
where every file goes.
"""

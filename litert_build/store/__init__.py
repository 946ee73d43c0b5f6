"""File-system primitives: atomic writes, confined names, staged temp files, the stat cache, the
artifact cache, fsspec remotes.
"""

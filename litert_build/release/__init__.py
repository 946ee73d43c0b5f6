"""Release: deterministic archives, bundles, provenance statements, publishing."""

"""models.yaml -> validated settings: strict YAML, JSON Schema, defaults merged, located errors."""

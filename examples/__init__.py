"""Builders for the example models in the repository's models.yaml."""

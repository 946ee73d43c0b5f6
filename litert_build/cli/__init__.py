"""The litert-build command line."""

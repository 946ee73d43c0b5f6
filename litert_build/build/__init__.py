"""Build specs -> doit tasks: the convert action, the worker processes, the file checker, console
output, the rebuild check.
"""

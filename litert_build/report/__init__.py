"""The build report (a child process): latency, charts, report.md/.html."""

"""Harnesses for running Tessera's parties together on one machine: as separate processes
(`processes`, what `tessera demo` runs) or as one hub inside the test process
(`inprocess`). Nothing here is needed by a deployed hub or station."""

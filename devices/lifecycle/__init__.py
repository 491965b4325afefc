"""The life of readings after ingest: rollups for long-range charts, then retention."""

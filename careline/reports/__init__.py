"""Reports: fleet reliability and ticket times, computed with pandas from the database."""

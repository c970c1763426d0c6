"""The real CLI, run with a pause after each batch an ingest writes, so that a test can
act while it is half-way (kill it, start a second one), however fast the machine."""

from __future__ import annotations

import sys

from sqlalchemy import create_engine, text


def paced_cli(pause_s: float) -> list[str]:
    """The command line that runs ``traptagger`` (arguments follow) with the pause."""
    script = f"""
import sys, time
from traptagger_lab.ingest.writer import SurveyWriter
write = SurveyWriter.write
def paced(self, outcomes):
    counts = write(self, outcomes)
    time.sleep({pause_s!r})
    return counts
SurveyWriter.write = paced
from traptagger_lab.cli import main
sys.argv[0] = "traptagger"
main()
"""
    return [sys.executable, "-c", script]


def images_written(url: str) -> int:
    """How many image rows a (possibly half-way) ingest has committed; 0 while the schema
    does not exist yet (the process is still starting)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT COUNT(*) FROM image")).scalar() or 0)
    except Exception:  # the schema may not exist yet while the process starts
        return 0
    finally:
        engine.dispose()

"""``python -m voxhub.cli``."""

from voxhub.cli.main import main

main()

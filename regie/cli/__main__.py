"""`python -m regie.cli`: the same command as `regie`."""

from regie.cli import main

main()

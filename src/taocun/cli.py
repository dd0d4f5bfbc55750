"""The ``taocun`` console script: every Django management command plus the project's own."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taocun.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["taocun", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()

import sys

from .cli import main

# guarded like any main module of a program that starts worker processes
if __name__ == "__main__":
    sys.exit(main())

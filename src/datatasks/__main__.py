import sys

from datatasks.cli import main

sys.exit(main())

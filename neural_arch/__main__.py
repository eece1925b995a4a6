import sys

from neural_arch.cli import main

sys.exit(main())

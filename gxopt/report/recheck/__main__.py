"""Entry point: ``python3 recheck [PACK_DIR]`` from the pack folder (Python runs the folder through this file);
exit code 0 only when every check passes. ``python3 -m recheck`` runs the same (and lets Python cache bytecode)."""

import os
import sys

if __package__:  # python3 -m recheck (or -m gxopt.report.recheck): already imported as a package
    from .driver import main
else:  # python3 recheck: this file runs alone, with the folder itself first on sys.path
    import importlib

    sys.dont_write_bytecode = True  # leave the pack as it was written: no __pycache__ in it
    try:  # Python cached this file before running it
        os.remove(__cached__)
        os.rmdir(os.path.dirname(__cached__))
    except (NameError, TypeError, OSError):
        pass
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]  # its modules are no top-level ones
    sys.path.insert(0, os.path.dirname(_here))  # the pack folder: the folder is imported as the package
    main = importlib.import_module(os.path.basename(_here)).main

sys.exit(main())

"""glassnet's version, in one place (the package, model files and exports read it here)."""

VERSION = "0.1.0"

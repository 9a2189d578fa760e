"""trtbuild's version, in a module of its own: the modules inside the package read it here, not from the package's
public face (trtbuild/__init__.py), which sits above them all."""

__version__ = "0.1.0"

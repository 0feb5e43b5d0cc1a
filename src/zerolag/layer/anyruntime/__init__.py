"""The any-runtime layer: the extension plus a CPython built to run on every Lambda base image
(docs/layer.md). ``build_python`` builds and caches the interpreter, ``layer`` assembles the zips,
``elf`` checks the binaries' glibc needs, ``pins`` records what it is all built from."""

"""The Lambda layer: build it from source (``build``), check it and run it in the emulator (``verify``), and
publish it to AWS (``publish``). Submodules are imported on demand."""

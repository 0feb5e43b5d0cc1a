"""The ``zerolag`` command line: thin commands over the components. Only ``cli`` wires components together."""

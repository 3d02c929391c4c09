"""The public Python API, one module per concept; :mod:`rlzoo_real` re-exports it lazily.

- :mod:`.request`: Python values -> the typed training request (the CLI builds it here too);
- :mod:`.train`: :func:`train` and :func:`resume`;
- :mod:`.load`: :func:`load` and :func:`evaluate`;
- :mod:`.runs`: :func:`runs`, the runs of a log tree as records;
- :mod:`.studies`: :func:`tune` and :func:`sweep`;
- :mod:`.plots`: the plot views as functions returning matplotlib figures;
- :mod:`.results`: what they return.
"""

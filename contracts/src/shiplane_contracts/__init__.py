"""The contracts every Shiplane component shares, and nothing else.

- :mod:`.identity`: model identity (annotation keys, aliases, the ``models:/``
  grammar), read by the chart, the CLI, serving and training.
- :mod:`.profile`: the drift reference profile training writes and serving reads.
- :mod:`.modelformat`: the model directory layout and the skops trust list.
- :mod:`.metrics`: every exported metric family; :mod:`.collectors` builds them
  as prometheus_client collectors (extra ``prometheus``).
- :mod:`.mlflowclient`: MLflow clients pinned to the server they were given.
- :mod:`.asgi`: the request-body limits and JSON answers both servers speak.

This package depends only on numpy and pydantic (plus prometheus-client for
:mod:`.collectors`): it lands in every image.
"""

"""Observability as code: the Grafana dashboards and the Prometheus rules' helpers.

The dashboards are built in :mod:`.dashboards`; the recording and alert rules live
as a plain rule file in ``charts/shiplane/files/rules/`` (see :mod:`.rules`), so
that promtool tests exactly what the chart ships.
"""

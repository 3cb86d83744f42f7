"""``make bench``: Shiplane's serving runtime side by side with the servers a
scikit-learn user would otherwise pick (plain KServe, ``mlflow models serve``,
MLServer) and a bare ASGI floor, all on one machine, loaded by ``wrk``.

Run from the repository root: ``uv run --frozen python -m serving.bench.run``.
"""

"""The MLflow run that records a batch-scoring run: started before the first
row, ended FINISHED with the row counts or FAILED with the reason, so a run
that stopped halfway is never mistaken for one that finished."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from shiplane_serving.scoring import ScoreSummary

log = logging.getLogger(__name__)

SCORING_EXPERIMENT = "shiplane-scoring"


@dataclass
class ScoreRun:
    """An MLflow run, or nothing when no tracking server is configured (or it
    is unreachable: scoring does not depend on it)."""

    client: Any = None
    run_id: str = ""

    @classmethod
    def start(cls, tracking_uri: str, params: dict[str, str]) -> ScoreRun:
        if not tracking_uri:
            return cls()
        from shiplane_contracts.mlflowclient import registry_client

        try:
            client = registry_client(tracking_uri)
            experiment = client.get_experiment_by_name(SCORING_EXPERIMENT)
            experiment_id = (
                experiment.experiment_id
                if experiment is not None
                else client.create_experiment(SCORING_EXPERIMENT)
            )
            run = client.create_run(experiment_id, run_name="score")
            for key, value in params.items():
                client.log_param(run.info.run_id, key, value)
        except Exception as exc:  # MLflow raises many types for one outage
            log.warning("not recording this run in MLflow (%s): %s", tracking_uri, exc)
            return cls()
        return cls(client, run.info.run_id)

    def finish(self, summary: ScoreSummary) -> None:
        if not self.run_id:
            return
        try:
            self.client.log_param(self.run_id, "model_version", summary.model_version)
            for key, value in {
                "rows_read": summary.rows_read,
                "rows_scored": summary.rows_scored,
                "rows_rejected": summary.rows_rejected,
                "seconds": summary.seconds,
            }.items():
                self.client.log_metric(self.run_id, key, value)
            self.client.set_terminated(self.run_id, "FINISHED")
        except Exception as exc:  # the output is written; only the record is lost
            log.warning("could not record the finished run %s: %s", self.run_id, exc)

    def fail(self, reason: str) -> None:
        if not self.run_id:
            return
        try:
            self.client.set_tag(self.run_id, "shiplane.error", reason[:5000])
            self.client.set_terminated(self.run_id, "FAILED")
        except Exception as exc:  # already failing: report the first cause
            log.warning("could not record the failed run %s: %s", self.run_id, exc)

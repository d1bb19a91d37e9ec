"""Single-arm trial design for CAR T reinfusion studies.

Simon two-stage designs, inference after a two-stage trial, and Bayesian
predictive-probability monitoring; each returns a frozen result with ``to_dict()``.
"""

from reinfuse.design.bayes import (
    PredictiveMonitoring,
    predictive_monitoring,
    predictive_probability,
    prior_from_rate,
)
from reinfuse.design.inference import TwoStageInference, two_stage_inference, umvue
from reinfuse.design.simon import SimonDesign, SimonStage, simon_two_stage

__all__ = [
    "PredictiveMonitoring",
    "SimonDesign",
    "SimonStage",
    "TwoStageInference",
    "predictive_monitoring",
    "predictive_probability",
    "prior_from_rate",
    "simon_two_stage",
    "two_stage_inference",
    "umvue",
]

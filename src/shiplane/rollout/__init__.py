"""Automatic canary rollout: step the traffic, analyze, promote or roll back.

``actuators`` moves traffic (an InferenceService or the A/B router), ``loop``
is the stepping state machine, ``load`` the optional bounded Locust run,
``runner`` one whole rollout from its :class:`~shiplane.rollout.runner.RolloutOptions`.
"""

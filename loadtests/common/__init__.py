"""Shared parts of the Shiplane Locust scenarios: options, payloads, SLOs, the
canary split check and the verdict. Scenario files import from here; Locust
puts ``loadtests/`` on ``sys.path`` when it loads a scenario."""

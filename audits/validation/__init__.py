"""The validation wing: runs of a check suite on a model version, their results and findings
(services, views, API and the worker's tasks). Its models are in `audits.models`."""

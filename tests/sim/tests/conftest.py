"""The sim's own tests use the same fixtures as everyone else."""
from simfixture import sim, sim_factory  # noqa: F401

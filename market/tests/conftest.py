# The market suites run on the chain suites' `gateway` fixture (in-process chain and anvil).
from chain.tests.conftest import gateway  # noqa: F401

"""The market simulation: DEX markets on dev chains for the demo, tests and figures.

A universe of dev tokens with seeded pools (`universe`), reference price paths from a CSV or
a factor model with a planted signal (`price_paths`), the replay keeper that walks the pools
along a path with noise traders (`replay`), one DEX round end to end on generated data
(`simulated_round`) and the measured figures (`figures`, `python -m market.figures`).

Pure Python: no Django, no platform app. It drives the chain through chain's web3 core
(`chain.gateway.ChainGateway`, the DEX adapters in `chain.dex`), since its pools, swaps and
vaults are real contracts on a real (in-process or anvil) chain. Only demo/ and tests use it:
the platform's apps never import it.
"""

"""The DEX adapters: the web3 side of DEX tournaments, usable on any V2-compatible exchange.

Drive the exchange and the vault (`gateway.DexGateway`), read pools (`reader.V2Reader`),
average their prices over recent blocks (`twap`), keep and reconcile the platform's ledger of
a vault and mark it to market (`vault_ledger`), rebalance it to target weights crash-safely
(`rebalance`, with its durable `journal`), all on the constant-product formulas of `amm`.

Like the rest of chain's web3 core this package imports no Django and no platform app (the
`dex/` app is the platform's side); the market simulation that exercises it on dev chains is
the top-level `market/` package.
"""

"""DEX tournaments' writes: markets, data, trading, marks. Reads are in dex/selectors.py."""
